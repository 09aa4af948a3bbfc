// Reconnecting without the experts losing the participant: the participant page loses
// its signalling socket and its publishing connection for a few seconds, as on a switch
// from Wi-Fi to mobile data, and comes back by itself. The expert's tile shows
// "reconnecting" and then live video again, and the recording stays one recording with
// one gap. A second test restarts ICE on a live publishing connection.
//
// The outage is made inside the page (`window.profstage.simulateNetworkLoss`): the page
// closes its socket with a code the server takes for a broken connection, closes its
// publishing connection and waits before it reconnects. A real outage would instead let
// ICE time out; the server's side of that is covered by crates/media-core/tests/rejoin.rs.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clickTestId, joinAndPublish, waitForLiveTile, waitInPage } from './support/pages.mjs';
import { waitFor } from './support/poll.mjs';
import { RecordingApi } from './support/recordings.mjs';
import { sleep } from './support/server.mjs';
import { Stage } from './support/stage.mjs';
import { readReceived } from './support/stats.mjs';

const TEST_TIMEOUT_MS = 150_000;
const REJOIN_GRACE_S = 10;
const OUTAGE_MS = 4_000;
const PUBLISH_BEFORE_MS = 4_000;
const PUBLISH_AFTER_MS = 4_000;
const SAMPLE_INTERVAL_MS = 2_000;
const MIN_NEW_FRAMES = 5;
const SERVER_ENV = {
  PROFSTAGE_SIGNALLING_REJOIN_GRACE_SECS: String(REJOIN_GRACE_S),
  PROFSTAGE_STORAGE_BACKEND: 'local',
  PROFSTAGE_STORAGE_LOCAL_DIR: 'storage',
};

/** Asserts that the expert decodes new camera frames from `identity`. */
async function assertCameraFlows(expert, identity) {
  const before = await readReceived(expert.page, identity);
  await sleep(SAMPLE_INTERVAL_MS);
  const later = await readReceived(expert.page, identity);
  const gained = (later?.camera?.framesDecoded ?? 0) - (before?.camera?.framesDecoded ?? 0);
  assert.ok(gained >= MIN_NEW_FRAMES, `${identity}: ${gained} new camera frames`);
}

async function waitForTileState(expert, identity, state, timeoutMs) {
  await waitInPage(
    expert,
    `the tile of ${identity} to show ${state}`,
    ({ identity, state }) => {
      const selector = `[data-testid="tile"][data-identity="${CSS.escape(identity)}"]`;
      return document.querySelector(selector)?.dataset.state === state;
    },
    { identity, state },
    timeoutMs,
  );
}

/** Returns the ICE username fragment the server put in its latest answer. */
function serverUfrag(participant) {
  return participant.page.evaluate(() => {
    const sdp = window.profstage.publisher?.remoteDescription?.sdp ?? '';
    return /^a=ice-ufrag:(.*)$/m.exec(sdp)?.[1]?.trim() ?? null;
  });
}

describe('reconnecting after a network change', () => {
  let stage;

  before(async () => {
    stage = await Stage.open('reconnect', { env: SERVER_ENV });
  });

  after(async () => {
    await stage?.close();
  });

  it('outage keeps the tile and the recording', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const open = (label, role) => stage.openPage({ label, html: role, role, name: label });
      const participant = await open('participant', 'participant');
      await joinAndPublish(participant.page);
      const expert = await open('expert', 'expert');
      await waitForLiveTile(expert.page, participant.identity);
      const api = await RecordingApi.as(stage.server, stage.room);
      const live = await waitFor(
        'the camera to be recorded',
        () => api.live(stage.room),
        (body) =>
          body.participants
            .find((entry) => entry.participant === participant.identity)
            ?.sources.some((source) => source.source === 'camera' && source.state === 'recording'),
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      const recordingId = live.participants.find(
        (entry) => entry.participant === participant.identity,
      ).recording;
      await sleep(PUBLISH_BEFORE_MS);

      await participant.page.page.evaluate(
        (ms) => window.profstage.simulateNetworkLoss(ms),
        OUTAGE_MS,
      );
      await waitForTileState(expert.page, participant.identity, 'reconnecting', 5_000);
      await waitForTileState(expert.page, participant.identity, 'live', 30_000);
      await assertCameraFlows(expert.page, participant.identity);
      await waitInPage(
        participant.page,
        'the participant page to be joined and publishing again',
        () =>
          window.profstage.phase === 'joined' &&
          window.profstage.publisher?.connectionState === 'connected',
      );
      assert.equal(await expert.page.errorBanner(), null, 'the expert page shows an error');
      assert.equal(await participant.page.errorBanner(), null, 'the participant page shows an error');
      await sleep(PUBLISH_AFTER_MS);

      await clickTestId(participant.page, 'leave');
      const list = await waitFor(
        'the recording to be complete',
        () => api.list(stage.room),
        (recordings) =>
          recordings.some((r) => r.id === recordingId && r.status === 'complete'),
        { timeoutMs: (REJOIN_GRACE_S + 30) * 1000, intervalMs: 500 },
      );
      const ofParticipant = list.filter((r) => r.participant === participant.identity);
      assert.equal(ofParticipant.length, 1, `one recording: ${JSON.stringify(ofParticipant)}`);

      const manifest = await api.manifest(recordingId);
      const cameraGaps = manifest.gaps.filter((gap) => gap.source === 'camera');
      assert.equal(cameraGaps.length, 1, `one camera gap: ${JSON.stringify(manifest.gaps)}`);
      const gapMs = cameraGaps[0].to_unix_ms - cameraGaps[0].from_unix_ms;
      assert.ok(gapMs >= OUTAGE_MS - 1_500, `the gap lasts ${gapMs} ms`);
      assert.ok(gapMs < OUTAGE_MS + 10_000, `the gap lasts ${gapMs} ms`);
      const cameraSegments = manifest.segments.filter((s) => s.source === 'camera');
      const afterGap = cameraSegments.filter(
        (s) => s.started_unix_ms >= cameraGaps[0].to_unix_ms - 500,
      );
      const segmentTimes = cameraSegments.map((s) => [s.started_unix_ms, s.duration_ms]);
      const early = cameraSegments.filter((s) => s.started_unix_ms < manifest.started_unix_ms - 1_000);
      assert.equal(early.length, 0, `segments placed before the recording started: ${segmentTimes}`);
      assert.ok(
        afterGap.length >= 1,
        `camera segments after the gap: ${JSON.stringify({ gaps: manifest.gaps, segmentTimes })}`,
      );
      const left = manifest.events.filter((event) => event.kind === 'left');
      assert.equal(left.length, 1, `one "left" event, at the end: ${JSON.stringify(manifest.events)}`);
      const verified = await api.verify(recordingId);
      assert.ok(verified.ok, `the recording verifies: ${JSON.stringify(verified.problems)}`);
    }),
  );

  it('ICE restart keeps media flowing', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const open = (label, role) => stage.openPage({ label, html: role, role, name: label });
      const participant = await open('participant-ice', 'participant');
      await joinAndPublish(participant.page);
      const expert = await open('expert-ice', 'expert');
      await waitForLiveTile(expert.page, participant.identity);
      const before = await serverUfrag(participant.page);
      assert.ok(before, 'the server answered with an ICE username fragment');

      await participant.page.page.evaluate(() => window.profstage.restartIce());
      const after = await waitFor(
        'the server to answer the ICE restart',
        () => serverUfrag(participant.page),
        (ufrag) => ufrag !== null && ufrag !== before,
      );
      assert.notEqual(after, before);
      await waitInPage(
        participant.page,
        'the publishing connection to be connected after the restart',
        () => window.profstage.publisher?.connectionState === 'connected',
      );
      await assertCameraFlows(expert.page, participant.identity);
      assert.equal(await expert.page.errorBanner(), null, 'the expert page shows an error');
      assert.equal(await participant.page.errorBanner(), null, 'the participant page shows an error');
    }),
  );
});
