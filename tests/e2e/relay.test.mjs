// One participant publishes camera, microphone and screen through the server; experts
// receive them. Run from tests/e2e with `node --test`; see README.md for the setup.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { joinAndPublish, shareScreen, waitForLiveTile } from './support/pages.mjs';
import { pollUntil, waitFor } from './support/poll.mjs';
import { sleep } from './support/server.mjs';
import { Stage } from './support/stage.mjs';
import { msToFirstCameraFrame, readReceived, readSent } from './support/stats.mjs';

const VIDEO_SOURCES = ['camera', 'screen'];
const SAMPLE_INTERVAL_MS = 3_000;
// At least this many new frames per source in SAMPLE_INTERVAL_MS, about 1.7 frames per
// second. The fake camera and screen delivered about 20 in a trial in Chromium 156, so a
// loaded machine passes but a stalled track does not.
const MIN_NEW_FRAMES = 5;
// A late subscriber must not wait for the encoder's next periodic keyframe, which can be
// minutes away, because the server requests one from the publisher. The bound leaves room for
// a loaded machine. The two-second goal is measured by the benchmarks in docs/benchmarks.md.
const LATE_JOIN_BOUND_MS = 10_000;
const TEST_TIMEOUT_MS = 90_000;

describe('relay of one participant to experts', () => {
  let stage;
  let participant = null;
  let participantIdentity = null;
  const experts = [];

  // Each test after the first needs what the earlier ones set up.
  const requireSetup = (t, needExperts = true) => {
    if (!participant || (needExperts && experts.length === 0)) {
      t.skip('an earlier test failed to set up the room');
      return false;
    }
    return true;
  };

  before(async () => {
    stage = await Stage.open('relay');
  });

  after(async () => {
    await stage?.close();
  });

  it('participant publishes camera, microphone and screen', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const opened = await stage.openPage({
        label: 'participant',
        html: 'participant',
        role: 'participant',
        name: 'Иванова А. П.',
      });
      await joinAndPublish(opened.page);
      const sent = await shareScreen(opened.page);

      assert.ok(sent.camera, 'the publishing connection sends no camera');
      assert.ok(sent.screen, 'the publishing connection sends no screen');
      assert.ok(sent.audioTracks >= 1, `expected a microphone track, got ${sent.audioTracks}`);
      participant = opened.page;
      participantIdentity = opened.identity;
    }),
  );

  it('two experts show the participant live', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!requireSetup(t, false)) {
        return;
      }
      for (const label of ['expert-1', 'expert-2']) {
        const opened = await stage.openPage({
          label,
          html: 'expert',
          role: 'expert',
          name: `Эксперт ${label.at(-1)}`,
        });
        experts.push(opened.page);
      }
      for (const expert of experts) {
        await waitForLiveTile(expert, participantIdentity);
      }
    }),
  );

  it('experts decode camera and screen frames', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!requireSetup(t)) {
        return;
      }
      for (const expert of experts) {
        const read = () => readReceived(expert.page, participantIdentity);
        const first = await waitFor(
          `${expert.name} to receive camera and screen`,
          read,
          (received) => received?.camera && received?.screen,
        );
        await sleep(SAMPLE_INTERVAL_MS);
        const second = await read();

        for (const source of VIDEO_SOURCES) {
          const before = first[source].framesDecoded;
          const now = second[source]?.framesDecoded ?? 0;
          assert.ok(
            now - before >= MIN_NEW_FRAMES,
            `${expert.name}: ${source} framesDecoded went from ${before} to ${now} ` +
              `in ${SAMPLE_INTERVAL_MS} ms, expected at least ${MIN_NEW_FRAMES} more`,
          );
        }
      }
    }),
  );

  it('experts decode frames at a sent size', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!requireSetup(t)) {
        return;
      }
      for (const expert of experts) {
        // The sender may change resolution when it adapts to CPU or bandwidth, so both
        // sides are read together until they agree or the time is up. The camera is
        // simulcast, and the expert receives whichever layer suits its tile.
        const sample = async () => ({
          sent: await readSent(participant.page),
          received: await readReceived(expert.page, participantIdentity),
        });
        const matchesLayer = (sent, received) =>
          sent.layers.some(
            (layer) =>
              layer.frameWidth === received.frameWidth &&
              layer.frameHeight === received.frameHeight,
          );
        const agree = ({ sent, received }) =>
          VIDEO_SOURCES.every(
            (source) =>
              sent[source] && received?.[source] && matchesLayer(sent[source], received[source]),
          );
        const { sent, received } = await pollUntil(sample, agree, { timeoutMs: 10_000 });

        for (const source of VIDEO_SOURCES) {
          assert.ok(sent[source]?.frameWidth > 0, `participant sends no ${source} frame size`);
          const got = received?.[source];
          assert.ok(
            got && matchesLayer(sent[source], got),
            `${expert.name}: received ${source} size ${got?.frameWidth}x${got?.frameHeight} ` +
              `is none of the sent sizes ${JSON.stringify(sent[source].layers)}`,
          );
        }
      }
    }),
  );

  it('experts receive audible audio', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!requireSetup(t)) {
        return;
      }
      const sentAudioTracks = (await readSent(participant.page)).audioTracks;
      for (const expert of experts) {
        const read = () => readReceived(expert.page, participantIdentity);
        const first = await waitFor(
          `${expert.name} to play ${sentAudioTracks} audio tracks`,
          read,
          (received) => received?.audio.length === sentAudioTracks,
        );
        await sleep(SAMPLE_INTERVAL_MS);
        const second = await read();

        first.audio.forEach((track, index) => {
          const now = second.audio[index]?.packetsReceived ?? 0;
          assert.ok(
            now > track.packetsReceived,
            `${expert.name}: audio track ${index} packetsReceived stayed at ${now}`,
          );
        });

        // The fake microphone beeps periodically; Chromium counts energy only of played audio.
        const audible = (received) =>
          received.audio.some((track) => track.totalAudioEnergy > 0 || track.audioLevel > 0);
        const last = await pollUntil(read, audible, { timeoutMs: 10_000 });
        assert.ok(
          audible(last),
          `${expert.name}: no received audio track has energy: ${JSON.stringify(last.audio)}`,
        );
      }
    }),
  );

  it('late expert gets video from a requested keyframe', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!requireSetup(t)) {
        return;
      }
      const sentBefore = (await readSent(participant.page)).camera;
      assert.ok(sentBefore, 'the participant no longer sends a camera');
      const late = await stage.openPage({
        label: 'expert-late',
        html: 'expert',
        role: 'expert',
        name: 'Эксперт 3',
      });
      const elapsedMs = await msToFirstCameraFrame(late.page.page, participantIdentity, 15_000);
      t.diagnostic(`first camera frame ${Math.round(elapsedMs)} ms after DOMContentLoaded`);
      assert.ok(
        elapsedMs < LATE_JOIN_BOUND_MS,
        `late expert decoded its first camera frame after ${Math.round(elapsedMs)} ms, ` +
          `expected under ${LATE_JOIN_BOUND_MS} ms`,
      );

      const sentAfter = (await readSent(participant.page)).camera;
      assert.ok(sentAfter, 'the participant stopped sending its camera');
      t.diagnostic(
        `keyframe requests ${sentBefore.keyframeRequests} -> ${sentAfter.keyframeRequests}, ` +
          `keyframes ${sentBefore.keyFramesEncoded} -> ${sentAfter.keyFramesEncoded}`,
      );
      assert.ok(
        sentAfter.keyframeRequests > sentBefore.keyframeRequests,
        'the server did not ask the participant for a keyframe for the late expert',
      );
      assert.ok(
        sentAfter.keyFramesEncoded > sentBefore.keyFramesEncoded,
        'the participant encoded no keyframe after the late expert joined',
      );
      await waitForLiveTile(late.page, participantIdentity);
    }),
  );
});
