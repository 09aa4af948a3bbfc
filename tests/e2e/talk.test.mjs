// Talk between experts and a participant. An expert presses "talk" on the participant's
// tile, and the participant and a second expert hear the expert. An expert who joins
// during the talk sees it on the participant's tile. The expert stops and then publishes
// nothing more. The participant's recording contains the talk audio and its start and end.
// An organiser who talks without a camera has a tile that says so. Needs ffmpeg and
// ffprobe on PATH. Run from tests/e2e with `node --test talk.test.mjs`.

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
const EXPERT_NAME = 'Говорунов Пётр';
const TALK_MS = 6_000;
// Talk segments are placed by the expert's sender clock. They must lie within the talk's
// events, give or take this much.
const SYNC_TOLERANCE_MS = 1_500;
const TEST_TIMEOUT_MS = 120_000;

/** Clicks the talk button on the tile of `identity`. */
async function pressTalk(expert, identity) {
  const tile = expert.page.locator(
    `[data-testid="tile"][data-identity="${identity}"] [data-testid="talk"]`,
  );
  await tile.click({ timeout: 20_000 });
}

function tileSelector(identity) {
  return `[data-testid="tile"][data-identity="${identity}"]`;
}

/** Waits until the tile of `identity` names `talker` as talking, or nobody for null. */
function waitForTileTalk(page, identity, talker) {
  return waitInPage(
    page,
    `the tile of ${identity} to show talker ${talker}`,
    ({ identity, talker }) => {
      const selector = `[data-testid="tile"][data-identity="${CSS.escape(identity)}"]`;
      const label = document.querySelector(`${selector} [data-testid="tile-talk"]`);
      if (!label) {
        return false;
      }
      return talker === null ? label.hidden : !label.hidden && label.dataset.talker === talker;
    },
    { identity, talker },
  );
}

/**
 * Returns inbound-rtp statistics of the talk audio a page plays:
 * `[{packetsReceived, totalAudioEnergy}]`, one entry per talk track.
 */
function readTalkAudio(page) {
  return page.page.evaluate(async () => {
    const pc = window.profstage?.subscriber;
    const box = document.querySelector('[data-testid="talk-audio"]');
    if (!pc || !box) {
      return [];
    }
    const report = await pc.getStats();
    const inbound = [...report.values()].filter((stats) => stats.type === 'inbound-rtp');
    const tracks = [...box.querySelectorAll('audio')].flatMap(
      (audio) => audio.srcObject?.getAudioTracks() ?? [],
    );
    return tracks.map((track) => {
      const stats = inbound.find((entry) => entry.trackIdentifier === track.id);
      return {
        packetsReceived: stats?.packetsReceived ?? 0,
        totalAudioEnergy: stats?.totalAudioEnergy ?? 0,
      };
    });
  });
}

/** Returns the directions of the publishing connection's transceivers with a track. */
function sendingTransceivers(page) {
  return page.page.evaluate(() => {
    const pc = window.profstage?.publisher;
    const transceivers = pc ? pc.getTransceivers() : [];
    return transceivers
      .filter((t) => t.sender.track !== null || t.currentDirection === 'sendonly')
      .map((t) => ({ mid: t.mid, direction: t.currentDirection, track: t.sender.track?.kind }));
  });
}

describe('talk between an expert and a participant', () => {
  let stage;
  let participant = null;
  let talker = null;
  let listener = null;
  let talk = null;

  /** Opens expert.html for a new person in `role`: an expert or an organiser. */
  const openExpertPage = (label, role, name) =>
    stage.openPage({ label, html: 'expert', role, name });

  before(async () => {
    stage = await Stage.open('talk', { env: SERVER_ENV });
  });

  after(async () => {
    await stage?.close();
  });

  it('participant hears the expert who talks', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      participant = await stage.openPage({
        label: 'participant',
        html: 'participant',
        role: 'participant',
        name: 'Слушаева Анна',
      });
      await joinAndPublish(participant.page);
      talker = await stage.openPage({
        label: 'expert-talker',
        html: 'expert',
        role: 'expert',
        name: EXPERT_NAME,
      });
      listener = await stage.openPage({
        label: 'expert-listener',
        html: 'expert',
        role: 'expert',
        name: 'Слушающий эксперт',
      });
      await waitForLiveTile(talker.page, participant.identity);
      await waitForLiveTile(listener.page, participant.identity);
      assert.deepEqual(await sendingTransceivers(talker.page), [], 'an idle expert publishes');

      const startedAt = Date.now();
      await pressTalk(talker.page, participant.identity);
      await waitForTileTalk(talker.page, participant.identity, talker.identity);
      await waitForTileTalk(listener.page, participant.identity, talker.identity);
      await waitInPage(participant.page, 'the talk notice', () => {
        const notice = document.querySelector('[data-testid="talk-notice"]');
        return notice && !notice.hidden && notice.textContent.length > 0;
      });
      const notice = await participant.page.page.getByTestId('talk-notice').textContent();
      assert.ok(notice.includes(EXPERT_NAME), `the notice names the expert: ${notice}`);

      for (const page of [participant.page, listener.page]) {
        const heard = await waitFor(
          `${page.name} to receive audible talk audio`,
          () => readTalkAudio(page),
          (audio) => audio.some((a) => a.packetsReceived > 50 && a.totalAudioEnergy > 0),
          { timeoutMs: 20_000, intervalMs: 250 },
        );
        assert.equal(heard.length, 1, `one talk track: ${JSON.stringify(heard)}`);
      }

      // An expert who joins now learns of the talk from `welcome` alone.
      const late = await openExpertPage('expert-late', 'expert', 'Опоздавший эксперт');
      await waitForTileTalk(late.page, participant.identity, talker.identity);
      const tile = late.page.page.locator(tileSelector(participant.identity));
      const label = await tile.getByTestId('tile-talk').textContent();
      assert.ok(label.includes(EXPERT_NAME), `the late expert's label names the talker: ${label}`);
      assert.ok(/\d{2}:\d{2}:\d{2}/.test(label), `the label gives the start time: ${label}`);
      assert.equal(await tile.getByTestId('talk').isDisabled(), true, "another's talk is busy");
      await sleep(startedAt + TALK_MS - Date.now());

      await pressTalk(talker.page, participant.identity);
      for (const page of [talker.page, listener.page, late.page]) {
        await waitForTileTalk(page, participant.identity, null);
      }
      await waitInPage(participant.page, 'the talk notice to go', () =>
        document.querySelector('[data-testid="talk-notice"]').hidden,
      );
      await waitFor(
        'the expert to stop sending',
        () => sendingTransceivers(talker.page),
        (sending) => sending.every((t) => t.direction !== 'sendonly' && !t.track),
      );
      const before = await readTalkAudio(participant.page);
      await sleep(1_500);
      const afterStop = await readTalkAudio(participant.page);
      const received = (audio) => audio.reduce((sum, a) => sum + a.packetsReceived, 0);
      assert.ok(
        received(afterStop) <= received(before),
        `talk audio after the stop: ${JSON.stringify({ before, afterStop })}`,
      );
      talk = { startedAt };
    }),
  );

  it('recording contains talk audio and events', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!talk) {
        t.skip('the talk did not happen');
        return;
      }
      await clickTestId(participant.page, 'leave');
      const api = await RecordingApi.as(stage.server, stage.room);
      const summary = await waitFor(
        'the participant recording to complete',
        () => api.list(stage.room),
        (list) =>
          list.find((r) => r.participant === participant.identity)?.status === 'complete',
        { timeoutMs: 40_000, intervalMs: 500 },
      ).then((list) => list.find((r) => r.participant === participant.identity));
      const manifest = await api.manifest(summary.id);

      const talkSegments = manifest.segments.filter((s) => s.source === 'talk');
      assert.ok(talkSegments.length >= 1, `segments: ${JSON.stringify(manifest.segments)}`);
      assert.ok(talkSegments.every((s) => s.codec === 'opus'), JSON.stringify(talkSegments));
      const events = manifest.events.filter((e) => e.source === 'talk');
      const kinds = events.map((e) => e.kind);
      assert.ok(kinds.includes('talk_started'), `events: ${JSON.stringify(manifest.events)}`);
      assert.ok(kinds.includes('talk_ended'), `events: ${JSON.stringify(manifest.events)}`);
      const started = events.find((e) => e.kind === 'talk_started');
      const ended = events.find((e) => e.kind === 'talk_ended');
      assert.equal(started.detail, EXPERT_NAME);
      assert.ok(ended.at_unix_ms - started.at_unix_ms >= TALK_MS - 2_000);

      const talkStart = Math.min(...talkSegments.map((s) => s.started_unix_ms));
      const talkEnd = Math.max(...talkSegments.map((s) => s.started_unix_ms + s.duration_ms));
      assert.ok(
        talkStart >= started.at_unix_ms - SYNC_TOLERANCE_MS,
        `talk audio starts at ${talkStart}, the talk at ${started.at_unix_ms}`,
      );
      assert.ok(
        talkEnd <= ended.at_unix_ms + SYNC_TOLERANCE_MS,
        `talk audio ends at ${talkEnd}, the talk at ${ended.at_unix_ms}`,
      );
      assert.ok(talkEnd - talkStart >= TALK_MS - 3_000, `talk audio ${talkEnd - talkStart} ms`);

      const verify = await api.verify(summary.id);
      assert.equal(verify.ok, true, `verify: ${JSON.stringify(verify.problems)}`);
      assert.ok(manifest.media?.talk, `media: ${JSON.stringify(manifest.media)}`);
      const dir = fs.mkdtempSync(path.join(stage.server.dataDir, 'talk-'));
      const file = path.join(dir, 'talk.webm');
      await api.download(manifest.media.talk, file);
      const { stdout } = await run('ffprobe', [
        ...['-v', 'error', '-show_streams', '-of', 'json', file],
      ]);
      const streams = JSON.parse(stdout).streams.map((s) => `${s.codec_type}/${s.codec_name}`);
      assert.deepEqual(streams, ['audio/opus']);
      assert.equal(await decodeErrors(file), '');
      talk.recording = summary.id;
      talk.mediaStartS = Math.min(...talkSegments.map((s) => s.media_start_ms)) / 1000;
    }),
  );

  it('review page plays the talk with the camera', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!talk?.recording) {
        t.skip('no recording to review');
        return;
      }
      const { token } = await stage.server.devToken(stage.room, 'Рецензент', 'expert');
      const url = `${stage.server.baseUrl}/review.html#token=${token}&recording=${talk.recording}`;
      const review = await stage.browser.openPage('review', url);
      await waitInPage(review, 'the recording to load', () => {
        const state = window.profstage.review.state().recording;
        return state?.phase === 'ready' && state.ready === true;
      });
      const state = () => review.page.evaluate(() => window.profstage.review.state().recording);
      const loaded = await state();
      assert.equal(loaded.master, 'camera', JSON.stringify(loaded));
      assert.ok(loaded.sources.talk, JSON.stringify(loaded));
      assert.equal(loaded.sources.talk.failed, false);
      assert.equal(loaded.sources.talk.muted, false, 'the talk is heard');
      assert.equal(loaded.sources.camera.muted, false, 'the participant is heard');

      // The talk's events on the timeline are named in the page's language.
      const markers = () =>
        review.page.evaluate(() =>
          [...document.querySelectorAll('[data-testid="timeline-event"]')].map((marker) => ({
            kind: marker.dataset.kind,
            text: marker.getAttribute('aria-label'),
          })),
        );
      const named = async (expected) => {
        const shown = await markers();
        const text = (kind) => shown.find((marker) => marker.kind === kind)?.text ?? '';
        assert.ok(text('talk_started').includes(expected.started), JSON.stringify(shown));
        assert.ok(text('talk_started').includes(EXPERT_NAME), JSON.stringify(shown));
        assert.ok(text('talk_ended').includes(expected.ended), JSON.stringify(shown));
        // The text is the time, then the event's name: a raw kind would follow the time.
        const raw = shown.filter((marker) => marker.text.split(' ')[1] === marker.kind);
        assert.deepEqual(raw, [], 'every event is translated');
      };
      await named({ started: 'Начало разговора', ended: 'Конец разговора' });
      await clickTestId(review, 'language');
      try {
        await named({ started: 'Talk started', ended: 'Talk ended' });
      } finally {
        await clickTestId(review, 'language'); // the choice is kept for later pages
      }

      // Both sides play together within the talk.
      const from = talk.mediaStartS + 1;
      await review.page.evaluate((seconds) => window.profstage.review.seek(seconds), from);
      await clickTestId(review, 'play');
      await waitInPage(
        review,
        'playback to pass 2 s into the talk',
        (seconds) => window.profstage.review.currentTime() > seconds,
        from + 1,
      );
      const playing = await state();
      const drift = Math.abs(playing.sources.talk.currentTime - playing.currentTime);
      assert.ok(playing.currentTime < playing.sources.talk.duration, JSON.stringify(playing));
      assert.ok(drift < 0.5, `talk ${drift} s away: ${JSON.stringify(playing)}`);
      assert.equal(playing.sources.talk.paused, false);
    }),
  );

  it('organiser talking without camera shows talk audio', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const publishing = async (label, name) => {
        const opened = await stage.openPage({ label, html: 'participant', role: 'participant', name });
        await joinAndPublish(opened.page);
        return opened;
      };
      const talkedTo = await publishing('participant-talked-to', 'Собеседникова Ирина');
      const bystander = await publishing('participant-bystander', 'Сторонний Олег');
      const organiser = await openExpertPage('organiser', 'organiser', 'Организаторова Ольга');
      await waitForLiveTile(organiser.page, talkedTo.identity);
      await pressTalk(organiser.page, talkedTo.identity);

      const organiserTile = tileSelector(organiser.identity);
      const stateText = (page) =>
        page.page.locator(`${organiserTile} .tile-state`).textContent();
      for (const viewer of [talkedTo, listener]) {
        await waitInPage(
          viewer.page,
          "the organiser's tile to show talk audio",
          (selector) => document.querySelector(selector)?.dataset.state === 'talk-audio',
          organiserTile,
        );
        assert.equal(await stateText(viewer.page), 'Только звук разговора');
      }
      await clickTestId(talkedTo.page, 'language');
      try {
        assert.equal(await stateText(talkedTo.page), 'Talk audio only');
      } finally {
        await clickTestId(talkedTo.page, 'language'); // the choice is kept for later pages
      }
      const seen = await bystander.page.page.evaluate(() => window.profstage.tiles);
      assert.equal(seen[organiser.identity], undefined, `another participant's tiles: ${
        JSON.stringify(seen)}`);

      await pressTalk(organiser.page, talkedTo.identity);
      await waitInPage(
        talkedTo.page,
        "the organiser's tile to go",
        (selector) => document.querySelector(selector) === null,
        organiserTile,
      );
    }),
  );
});
