// A second camera. The participant picks a second device on the participant page, which
// opens Chromium's fake camera a second time, and an expert decodes both cameras. Turning
// the second one off and on leaves a gap. The recording has segments of both that verify
// and play on the review page with the first camera. Needs ffmpeg and ffprobe on PATH. Run
// from tests/e2e with `node --test second-camera.test.mjs`.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { clickTestId, joinAndPublish, waitForLiveTile, waitInPage } from './support/pages.mjs';
import { waitFor } from './support/poll.mjs';
import { RecordingApi, decodeErrors } from './support/recordings.mjs';
import { sleep } from './support/server.mjs';
import { Stage } from './support/stage.mjs';

const run = promisify(execFile);

const SERVER_ENV = { PROFSTAGE_SIGNALLING_REJOIN_GRACE_SECS: '2' };
const OFF_MS = 4_000;
const TEST_TIMEOUT_MS = 150_000;

/** Chooses the option at `index` of the second camera's list: 0 is "none". */
async function chooseSecondCamera(participant, index) {
  const select = participant.page.getByTestId('camera2-select');
  await waitInPage(participant, 'the second camera list', () => {
    const element = document.querySelector('[data-testid="camera2-select"]');
    return element && !element.disabled && element.options.length >= 2;
  });
  await select.selectOption({ index });
}

/** Returns the number of video senders with a live track on the publishing connection. */
function liveVideoSenders(participant) {
  return participant.page.evaluate(() => {
    const pc = window.profstage?.publisher;
    const senders = pc ? pc.getSenders() : [];
    return senders.filter((s) => s.track?.kind === 'video' && s.track.readyState === 'live')
      .length;
  });
}

/** Returns the frames an expert decoded of each camera in the tile of `identity`. */
function decodedCameras(expert, identity) {
  return expert.page.evaluate(async (identity) => {
    const pc = window.profstage?.subscriber;
    const tile = document.querySelector(
      `[data-testid="tile"][data-identity="${CSS.escape(identity)}"]`,
    );
    if (!pc || !tile) {
      return null;
    }
    const report = await pc.getStats();
    const inbound = [...report.values()].filter((stats) => stats.type === 'inbound-rtp');
    const frames = (source) => {
      const video = tile.querySelector(`[data-testid="tile-${source}"]`);
      const track = video?.srcObject?.getVideoTracks()[0];
      const stats = track && inbound.find((entry) => entry.trackIdentifier === track.id);
      return stats ? { frames: stats.framesDecoded ?? 0, width: stats.frameWidth ?? 0 } : null;
    };
    return { camera: frames('camera'), camera2: frames('camera2') };
  }, identity);
}

async function ffprobeStreams(file) {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file]);
  return JSON.parse(stdout).streams.map((s) => `${s.codec_type}/${s.codec_name}`);
}

describe('second camera of a participant', () => {
  let stage;
  let participant = null;
  let recording = null;

  before(async () => {
    stage = await Stage.open('second-camera', { env: SERVER_ENV });
  });

  after(async () => {
    await stage?.close();
  });

  it('expert decodes both cameras', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      participant = await stage.openPage({
        label: 'participant',
        html: 'participant',
        role: 'participant',
        name: 'Двухкамерова Вера',
      });
      await chooseSecondCamera(participant.page, 1);
      await waitInPage(participant.page, 'the second camera preview', () =>
        !document.getElementById('camera2-preview-box').hidden,
      );
      await joinAndPublish(participant.page);
      assert.equal(await liveVideoSenders(participant.page), 2, 'two cameras are sent');

      const expert = await stage.openPage({
        label: 'expert',
        html: 'expert',
        role: 'expert',
        name: 'Эксперт',
      });
      await waitForLiveTile(expert.page, participant.identity);
      const both = await waitFor(
        'the expert to decode both cameras',
        () => decodedCameras(expert.page, participant.identity),
        (decoded) => decoded?.camera?.frames > 10 && decoded?.camera2?.frames > 10,
        { timeoutMs: 20_000, intervalMs: 250 },
      );
      assert.ok(both.camera2.width > 0, JSON.stringify(both));

      await sleep(5_000);
      await chooseSecondCamera(participant.page, 0);
      await waitFor(
        'the second camera to stop',
        () => liveVideoSenders(participant.page),
        (count) => count === 1,
      );
      await sleep(OFF_MS);
      await chooseSecondCamera(participant.page, 1);
      await waitFor(
        'the second camera to be sent again',
        () => liveVideoSenders(participant.page),
        (count) => count === 2,
      );
      const before = (await decodedCameras(expert.page, participant.identity))?.camera2?.frames;
      await waitFor(
        'the expert to decode the second camera again',
        () => decodedCameras(expert.page, participant.identity),
        (decoded) => decoded?.camera2?.frames > (before ?? 0) + 10,
        { timeoutMs: 20_000, intervalMs: 250 },
      );
      await sleep(5_000);
      await clickTestId(participant.page, 'leave');
      recording = { participant: participant.identity };
    }),
  );

  it('recording has both cameras and a gap', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!recording) {
        t.skip('the cameras were not published');
        return;
      }
      const api = await RecordingApi.as(stage.server, stage.room);
      const list = await waitFor(
        'the recording to complete',
        () => api.list(stage.room),
        (rows) => rows.find((r) => r.participant === recording.participant)?.status === 'complete',
        { timeoutMs: 40_000, intervalMs: 500 },
      );
      const id = list.find((r) => r.participant === recording.participant).id;
      const manifest = await api.manifest(id);
      recording.id = id;

      const count = (source) => manifest.segments.filter((s) => s.source === source).length;
      assert.ok(count('camera') >= 2, `segments: ${JSON.stringify(manifest.segments)}`);
      assert.ok(count('camera2') >= 2, `segments: ${JSON.stringify(manifest.segments)}`);
      const gaps = manifest.gaps.filter((g) => g.source === 'camera2');
      assert.equal(gaps.length, 1, `gaps: ${JSON.stringify(manifest.gaps)}`);
      const gapMs = gaps[0].to_unix_ms - gaps[0].from_unix_ms;
      assert.ok(gapMs >= OFF_MS - 2_000, `camera2 gap of ${gapMs} ms`);
      assert.deepEqual(
        manifest.gaps.filter((g) => g.source === 'camera'),
        [],
        'the first camera has no gap',
      );

      const verify = await api.verify(id);
      assert.equal(verify.ok, true, `verify: ${JSON.stringify(verify.problems)}`);
      assert.equal(verify.segments_checked, manifest.segments.length);

      assert.ok(manifest.media?.camera2, `media: ${JSON.stringify(manifest.media)}`);
      const dir = fs.mkdtempSync(path.join(stage.server.dataDir, 'camera2-'));
      const file = path.join(dir, 'camera2.webm');
      await api.download(manifest.media.camera2, file);
      const streams = await ffprobeStreams(file);
      assert.equal(streams.length, 1, `streams: ${streams}`);
      assert.match(streams[0], /^video\//);
      assert.equal(await decodeErrors(file), '');
    }),
  );

  it('review page plays both cameras in step', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!recording?.id) {
        t.skip('no recording to review');
        return;
      }
      const { token } = await stage.server.devToken(stage.room, 'Рецензент', 'expert');
      const url = `${stage.server.baseUrl}/review.html#token=${token}&recording=${recording.id}`;
      const review = await stage.browser.openPage('review', url);
      await waitInPage(review, 'the recording to load', () => {
        const state = window.profstage.review.state().recording;
        return state?.phase === 'ready' && state.ready === true;
      });
      const state = await review.page.evaluate(() => window.profstage.review.state().recording);
      assert.ok(state.sources.camera, JSON.stringify(state));
      assert.ok(state.sources.camera2, JSON.stringify(state));
      assert.equal(state.sources.camera2.failed, false, JSON.stringify(state.sources.camera2));
      assert.equal(await review.page.getByTestId('player-camera2').isVisible(), true);

      await clickTestId(review, 'play');
      await waitInPage(review, 'playback to pass 3 s', () =>
        window.profstage.review.currentTime() > 3,
      );
      const playing = await review.page.evaluate(() => window.profstage.review.state().recording);
      const drift = Math.abs(playing.sources.camera2.currentTime - playing.currentTime);
      assert.ok(drift < 0.5, `second camera ${drift} s away: ${JSON.stringify(playing)}`);
      assert.equal(playing.sources.camera2.paused, false);
    }),
  );
});
