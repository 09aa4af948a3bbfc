// Each video codec a browser may choose passes through the server: participants publish
// with VP9, H.264 and AV1 preferred, and an expert decodes every camera in that codec.
// VP8, the browser's default, is covered by relay.test.mjs.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { joinAndPublish, waitForLiveTile } from './support/pages.mjs';
import { waitFor } from './support/poll.mjs';
import { Stage } from './support/stage.mjs';

const CODECS = [
  { fragment: 'vp9', mimeType: 'video/VP9' },
  { fragment: 'h264', mimeType: 'video/H264' },
  { fragment: 'av1', mimeType: 'video/AV1' },
];
const MIN_FRAMES = 10;
const TEST_TIMEOUT_MS = 120_000;

/** Returns the codec and decoded frame count of the camera that `identity` publishes. */
async function readCameraCodec(expert, identity) {
  return expert.page.evaluate(async (identity) => {
    const pc = window.profstage?.subscriber;
    const selector =
      `[data-testid="tile"][data-identity="${CSS.escape(identity)}"] ` +
      '[data-testid="tile-camera"]';
    const track = document.querySelector(selector)?.srcObject?.getVideoTracks?.()[0];
    if (!pc || !track) {
      return null;
    }
    const report = await pc.getStats();
    const stats = [...report.values()].find(
      (s) => s.type === 'inbound-rtp' && s.trackIdentifier === track.id,
    );
    const codec = stats?.codecId ? report.get(stats.codecId) : undefined;
    return { mimeType: codec?.mimeType ?? null, framesDecoded: stats?.framesDecoded ?? 0 };
  }, identity);
}

describe('video codecs through the server', () => {
  let stage;

  before(async () => {
    stage = await Stage.open('codecs');
  });

  after(async () => {
    await stage?.close();
  });

  it('expert decodes VP9, H.264 and AV1 cameras', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const published = [];
      for (const codec of CODECS) {
        const { page, identity } = await stage.openPage({
          label: `participant-${codec.fragment}`,
          html: 'participant',
          role: 'participant',
          name: `Участник ${codec.fragment}`,
          fragment: { codec: codec.fragment },
        });
        await joinAndPublish(page);
        published.push({ ...codec, identity });
      }
      const { page: expert } = await stage.openPage({
        label: 'expert',
        html: 'expert',
        role: 'expert',
        name: 'Эксперт',
      });
      for (const { identity, mimeType } of published) {
        await waitForLiveTile(expert, identity);
        const received = await waitFor(
          `${mimeType} frames from ${identity}`,
          () => readCameraCodec(expert, identity),
          (r) => r !== null && r.framesDecoded >= MIN_FRAMES,
          { timeoutMs: 30_000 },
        );
        assert.equal(received.mimeType, mimeType, `camera of ${identity} arrived in another codec`);
      }
    }),
  );
});
