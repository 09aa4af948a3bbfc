// A participant's camera goes out as simulcast layers. An expert's grid tile receives a
// small layer; enlarging the tile brings the largest one, and returning it to the grid a
// small one again. Run from tests/e2e with `node --test`; see README.md for the setup.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { joinAndPublish, waitForLiveTile } from './support/pages.mjs';
import { waitFor } from './support/poll.mjs';
import { Stage } from './support/stage.mjs';
import { readReceived, readSent } from './support/stats.mjs';

const TEST_TIMEOUT_MS = 90_000;
// A switch waits for the view size to settle, the signalling round trip and a keyframe of
// the new layer, which the server requests. The bound leaves room for a loaded machine.
const SWITCH_TIMEOUT_MS = 20_000;

describe('simulcast camera', () => {
  let stage;
  let participant = null;
  let identity = null;
  let expert = null;

  before(async () => {
    stage = await Stage.open('simulcast');
  });

  after(async () => {
    await stage?.close();
  });

  const tileSelector = () => `[data-testid="tile"][data-identity="${identity}"]`;
  const receivedCamera = async () => (await readReceived(expert.page, identity))?.camera;

  it('participant sends the camera in several layers', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const opened = await stage.openPage({
        label: 'participant',
        html: 'participant',
        role: 'participant',
        name: 'Иванова А. П.',
      });
      await joinAndPublish(opened.page);
      const sent = await waitFor(
        'two or more camera layers to be encoded',
        () => readSent(opened.page.page),
        (sent) => sent.camera?.layers.filter((layer) => layer.frameWidth > 0).length >= 2,
      );
      const widths = sent.camera.layers.map((layer) => layer.frameWidth);
      assert.ok(new Set(widths).size >= 2, `camera layer widths ${widths} do not differ`);
      participant = opened.page;
      identity = opened.identity;
    }),
  );

  it('grid tile gets a small layer, enlarged tile the largest', { timeout: 3 * TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!participant) {
        t.skip('the participant did not publish');
        return;
      }
      const opened = await stage.openPage({
        label: 'expert',
        html: 'expert',
        role: 'expert',
        name: 'Эксперт 1',
      });
      expert = opened.page;
      await waitForLiveTile(expert, identity);

      const top = (await readSent(participant.page)).camera;
      t.diagnostic(`sent layers ${JSON.stringify(top.layers)}`);
      const small = await waitFor(
        'the grid tile to receive a layer smaller than the largest',
        receivedCamera,
        (camera) => camera?.frameWidth > 0 && camera.frameWidth < top.frameWidth,
        { timeoutMs: SWITCH_TIMEOUT_MS },
      );
      t.diagnostic(`grid tile: ${small.frameWidth}x${small.frameHeight}`);

      await expert.page.locator(tileSelector()).click();
      const large = await waitFor(
        'the enlarged tile to receive the largest layer',
        receivedCamera,
        (camera) => camera?.frameWidth === top.frameWidth,
        { timeoutMs: SWITCH_TIMEOUT_MS },
      );
      t.diagnostic(`enlarged tile: ${large.frameWidth}x${large.frameHeight}`);
      assert.ok(large.frameWidth > small.frameWidth);
      // The tile's quality figures name the layer the server forwards to this expert.
      const size = `${top.frameWidth}x${top.frameHeight}`;
      const qualityTitle = () =>
        expert.page.locator(`${tileSelector()} [data-testid="tile-quality"]`).getAttribute('title');
      const title = await waitFor(
        `the quality figures to name the ${size} layer`,
        qualityTitle,
        (text) => text?.includes(size),
        { timeoutMs: SWITCH_TIMEOUT_MS },
      );
      assert.ok(title.includes(size), title);

      await expert.page.locator(tileSelector()).click();
      const again = await waitFor(
        'the tile back in the grid to receive a smaller layer',
        receivedCamera,
        (camera) => camera?.frameWidth > 0 && camera.frameWidth < top.frameWidth,
        { timeoutMs: SWITCH_TIMEOUT_MS },
      );
      t.diagnostic(`grid tile again: ${again.frameWidth}x${again.frameHeight}`);

      const before = again.framesDecoded;
      const later = await waitFor(
        'frames to keep decoding after the switches',
        receivedCamera,
        (camera) => camera?.framesDecoded > before + 5,
      );
      assert.ok(later.framesDecoded > before);
    }),
  );
});
