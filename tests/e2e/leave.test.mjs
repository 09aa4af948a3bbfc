// People come and go while an expert watches: the expert keeps receiving everyone who stays,
// shows who left as disconnected, and shows a returning participant live again.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  clickTestId,
  joinAndPublish,
  shareScreen,
  waitForLiveTile,
  waitInPage,
} from './support/pages.mjs';
import { waitFor } from './support/poll.mjs';
import { sleep } from './support/server.mjs';
import { Stage } from './support/stage.mjs';
import { readReceived } from './support/stats.mjs';

const TEST_TIMEOUT_MS = 120_000;
const SAMPLE_INTERVAL_MS = 2_000;
const MIN_NEW_FRAMES = 5;

/** Asserts that the expert decodes new camera frames from `identity`. */
async function assertCameraFlows(expert, identity) {
  const before = await readReceived(expert.page, identity);
  await sleep(SAMPLE_INTERVAL_MS);
  const later = await readReceived(expert.page, identity);
  const gained = (later?.camera?.framesDecoded ?? 0) - (before?.camera?.framesDecoded ?? 0);
  assert.ok(gained >= MIN_NEW_FRAMES, `${identity}: ${gained} new camera frames`);
}

async function waitForTileState(expert, identity, state) {
  await waitInPage(
    expert,
    `the tile of ${identity} to show ${state}`,
    ({ identity, state }) => {
      const selector = `[data-testid="tile"][data-identity="${CSS.escape(identity)}"]`;
      return document.querySelector(selector)?.dataset.state === state;
    },
    { identity, state },
  );
}

describe('participants leaving and returning', () => {
  let stage;

  before(async () => {
    stage = await Stage.open('leave');
  });

  after(async () => {
    await stage?.close();
  });

  it('expert keeps the room through departures', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const open = (label, role) =>
        stage.openPage({ label, html: role, role, name: label });
      const first = await open('participant-1', 'participant');
      await joinAndPublish(first.page);
      await shareScreen(first.page);
      const second = await open('participant-2', 'participant');
      await joinAndPublish(second.page);
      const expert = await open('expert', 'expert');
      await waitForLiveTile(expert.page, first.identity);
      await waitForLiveTile(expert.page, second.identity);

      // The first participant, whose m-lines come first in the expert's offers, stops
      // sharing and then leaves.
      await clickTestId(first.page, 'stop-sharing');
      await waitFor(
        'the screen to stop at the expert',
        () => readReceived(expert.page.page, first.identity),
        (received) => received?.screen === null,
      );
      await clickTestId(first.page, 'leave');
      await waitForTileState(expert.page, first.identity, 'disconnected');
      await assertCameraFlows(expert.page, second.identity);
      assert.equal(await expert.page.errorBanner(), null, 'the expert page shows an error');

      // The last one sending video leaves too: the room is empty of media.
      await clickTestId(second.page, 'leave');
      await waitForTileState(expert.page, second.identity, 'disconnected');
      assert.equal(await expert.page.errorBanner(), null, 'the expert page shows an error');

      // A participant returns with a new link and is live again at the same expert.
      const returning = await open('participant-3', 'participant');
      await joinAndPublish(returning.page);
      await waitForLiveTile(expert.page, returning.identity);
      await assertCameraFlows(expert.page, returning.identity);
      assert.equal(await expert.page.errorBanner(), null, 'the expert page shows an error');
    }),
  );
});
