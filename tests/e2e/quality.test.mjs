// An expert page shows each participant's connection quality from the server's
// `connection_quality` messages, and the tile's bar keeps the name, the quality and the
// buttons readable in the narrowest tile. Run from tests/e2e with `node --test`; see
// README.md for the setup.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clickTestId, joinAndPublish, waitForLiveTile, waitInPage } from './support/pages.mjs';
import { Stage } from './support/stage.mjs';
import { MIN_TILE_WIDTH, readTileBar } from './support/tile-bar.mjs';

const TEST_TIMEOUT_MS = 90_000;
// The server reports every 2 seconds, after two stats intervals of 1 second with media.
const REPORT_TIMEOUT_MS = 15_000;

/** Enlarges the tile of `identity` or returns it to the grid, by a click on its video. */
async function setEnlarged(browserPage, identity, enlarged) {
  const tile = browserPage.page.locator(`[data-testid="tile"][data-identity="${identity}"]`);
  if ((await tile.getAttribute('class')).split(' ').includes('enlarged') !== enlarged) {
    await tile.locator('.tile-media').click();
  }
}

describe('connection quality on the expert page', () => {
  let stage;
  let participant = null;
  let expert = null;

  before(async () => {
    stage = await Stage.open('quality');
  });

  after(async () => {
    await stage?.close();
  });

  it('participant tile shows quality with a bitrate', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      participant = await stage.openPage({
        label: 'participant',
        html: 'participant',
        role: 'participant',
        name: 'Иванова А. П.',
      });
      await joinAndPublish(participant.page);
      expert = await stage.openPage({
        label: 'expert',
        html: 'expert',
        role: 'expert',
        name: 'Эксперт',
      });
      await waitForLiveTile(expert.page, participant.identity);

      await waitInPage(
        expert.page,
        'the participant tile to show a quality indicator with a bitrate',
        (identity) => {
          const tile = document.querySelector(
            `[data-testid="tile"][data-identity="${CSS.escape(identity)}"]`,
          );
          const indicator = tile?.querySelector('[data-testid="tile-quality"]');
          return indicator && !indicator.hidden && Number(indicator.dataset.bitrateBps) > 0;
        },
        participant.identity,
        REPORT_TIMEOUT_MS,
      );
      const badge = await expert.page.page.evaluate((identity) => {
        const tile = document.querySelector(
          `[data-testid="tile"][data-identity="${CSS.escape(identity)}"]`,
        );
        const indicator = tile.querySelector('[data-testid="tile-quality"]');
        const detail = tile.querySelector('[data-testid="tile-quality-detail"]');
        return {
          level: indicator.dataset.level,
          bitrate: Number(indicator.dataset.bitrateBps),
          label: indicator.textContent,
          title: indicator.title,
          detail: detail.textContent,
        };
      }, participant.identity);

      assert.ok(['good', 'fair', 'poor'].includes(badge.level), `level ${badge.level}`);
      // Chromium 156 sent its fake camera and microphone at about 240 kbit/s in a trial, so
      // 50 kbit/s is far below what a working publisher shows.
      assert.ok(badge.bitrate > 50_000, `bitrate ${badge.bitrate} bit/s`);
      assert.ok(badge.label.startsWith('Связь'), `label "${badge.label}"`);
      assert.match(badge.title, /^Отправляет \d/, 'the tooltip lists the figures');
      assert.match(badge.detail, /потери/, 'the detail line lists the figures');
      assert.doesNotMatch(badge.title, /quality\./, 'every text is translated');
    }),
  );

  it('tile bar fits the narrowest tile', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      assert.ok(expert, 'the previous test opened the pages');
      for (const language of ['ru', 'en']) {
        if (language === 'en') {
          await clickTestId(expert.page, 'language');
        }
        for (const width of [MIN_TILE_WIDTH, '']) {
          for (const enlarged of [false, true]) {
            await setEnlarged(expert.page, participant.identity, enlarged);
            const bar = await readTileBar(expert.page, participant.identity, width);
            const view = `${language}, grid width ${width || 'full'}, enlarged ${enlarged}`;
            // The bar leaves the name at least 12em, about 190 px, or a line of its own.
            assert.ok(bar.nameWidth > 100, `${view}: the name is ${bar.nameWidth} px wide`);
            assert.equal(bar.nameCut, false, `${view}: the name is cut`);
            assert.deepEqual(bar.cut, [], `${view}: controls cut off`);
          }
        }
      }
      await clickTestId(expert.page, 'language'); // the choice is kept for later pages
    }),
  );
});
