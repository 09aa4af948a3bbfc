// A phone as a participant's second camera. The participant page shows a one-time link as
// a QR code; a second page, the "phone" with Chromium's fake camera, opens the link and
// publishes. An expert decodes the participant's second camera, the link cannot be used
// twice, and when the phone page closes both the expert and the participant page show that
// the phone camera stopped. The recording has the phone's video as the participant's
// `camera2`. Run from tests/e2e with `node --test phone-camera.test.mjs`.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clickTestId, joinAndPublish, waitForLiveTile, waitInPage } from './support/pages.mjs';
import { waitFor } from './support/poll.mjs';
import { RecordingApi } from './support/recordings.mjs';
import { sleep } from './support/server.mjs';
import { Stage } from './support/stage.mjs';
import { readReceived } from './support/stats.mjs';

const SERVER_ENV = { PROFSTAGE_SIGNALLING_REJOIN_GRACE_SECS: '2' };
const TEST_TIMEOUT_MS = 150_000;

/** Returns the link and QR code the participant page shows, once both are there. */
async function shownLink(participant, previous = null) {
  await waitInPage(
    participant,
    'the phone link and its QR code',
    (previous) => {
      const link = document.querySelector('[data-testid="phone-link-url"]');
      const qr = document.querySelector('[data-testid="phone-link-qr"]');
      const panel = document.querySelector('[data-testid="phone-link-panel"]');
      return (
        !panel.hidden &&
        link.href.includes('#link=') &&
        link.href !== previous &&
        link.textContent === link.href &&
        qr.complete &&
        qr.naturalWidth > 0
      );
    },
    previous,
  );
  return participant.page.evaluate(() => ({
    link: document.querySelector('[data-testid="phone-link-url"]').href,
    qr: document.querySelector('[data-testid="phone-link-qr"]').src,
  }));
}

/** Returns the `data-state` of the element with `testId`, or null when it is absent. */
function stateOf(browserPage, testId) {
  return browserPage.page.evaluate(
    (testId) => document.querySelector(`[data-testid="${testId}"]`)?.dataset.state ?? null,
    testId,
  );
}

describe('phone as the second camera', () => {
  let stage;
  let recorded = null;

  before(async () => {
    stage = await Stage.open('phone-camera', { env: SERVER_ENV });
  });

  after(async () => {
    await stage?.close();
  });

  it('phone publishes, stops and is announced', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const opened = await stage.openPage({
        label: 'participant',
        html: 'participant',
        role: 'participant',
        name: 'Телефонова Ольга',
      });
      const participant = opened.page;
      const identity = opened.identity;
      await joinAndPublish(participant);
      const { page: expert } = await stage.openPage({
        label: 'expert',
        html: 'expert',
        role: 'expert',
        name: 'Эксперт',
      });
      await waitForLiveTile(expert, identity);

      await clickTestId(participant, 'phone-link-open');
      const first = await shownLink(participant);
      assert.match(first.link, /\/phone\.html#link=[0-9a-f]{64}$/);
      assert.match(first.qr, /^data:image\/svg\+xml/);

      const phone = await stage.browser.openPage('phone', first.link);
      await waitFor(
        'the phone to publish',
        () => stateOf(phone, 'phone-state'),
        (state) => state === 'publishing',
        { timeoutMs: 20_000 },
      );
      const address = await phone.page.evaluate(() => window.location.href);
      assert.ok(!address.includes('#link='), `the secret stays in the address: ${address}`);

      const decoded = await waitFor(
        "the expert to decode the participant's second camera",
        () => readReceived(expert.page, identity),
        (received) => received?.camera2?.framesDecoded > 10,
        { timeoutMs: 20_000, intervalMs: 250 },
      );
      assert.ok(decoded.camera2.frameWidth > 0, JSON.stringify(decoded));
      assert.ok(decoded.camera?.framesDecoded > 0, 'the first camera still plays');
      assert.equal(await stateOf(participant, 'phone-camera-state'), 'publishing');
      const camera2Select = participant.page.getByTestId('camera2-select');
      assert.equal(await camera2Select.isDisabled(), true, 'the local second camera is locked');

      // The used link was renewed on the participant page, and works no more.
      const second = await shownLink(participant, first.link);
      assert.notEqual(second.link, first.link);
      const reuse = await stage.browser.openPage('phone-reuse', first.link);
      await waitFor(
        'the used link to be rejected',
        () => reuse.page.getByTestId('phone-state').textContent(),
        (text) => /already used/.test(text) || /уже использована/.test(text),
      );
      await reuse.page.close();

      await sleep(4_000);
      await phone.page.close();
      await waitFor(
        'the expert page to show that the phone camera stopped',
        () => stateOf(expert, 'tile-phone-camera'),
        (state) => state === 'stopped',
      );
      await waitFor(
        'the participant page to show that the phone camera stopped',
        () => stateOf(participant, 'phone-camera-state'),
        (state) => state === 'stopped',
      );
      await waitFor(
        'the local second camera to be offered again',
        () => camera2Select.isEnabled(),
        (enabled) => enabled,
      );
      await waitFor(
        "the expert's tile to drop the second camera",
        () => readReceived(expert.page, identity),
        (received) => received?.camera2 === null,
      );

      await sleep(2_000);
      await clickTestId(participant, 'leave');
      recorded = identity;
    }),
  );

  it('recording has the phone as camera2', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!recorded) {
        t.skip('the phone did not publish');
        return;
      }
      const api = await RecordingApi.as(stage.server, stage.room);
      const list = await waitFor(
        'the recording to complete',
        () => api.list(stage.room),
        (rows) => rows.find((r) => r.participant === recorded)?.status === 'complete',
        { timeoutMs: 40_000, intervalMs: 500 },
      );
      const id = list.find((r) => r.participant === recorded).id;
      const manifest = await api.manifest(id);
      const sources = new Set(manifest.segments.map((s) => s.source));
      assert.ok(sources.has('camera'), `segments: ${JSON.stringify(manifest.segments)}`);
      assert.ok(sources.has('camera2'), `segments: ${JSON.stringify(manifest.segments)}`);
      assert.ok(manifest.media?.camera2, `media: ${JSON.stringify(manifest.media)}`);
      const verify = await api.verify(id);
      assert.equal(verify.ok, true, `verify: ${JSON.stringify(verify.problems)}`);
    }),
  );
});
