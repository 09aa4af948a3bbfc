// What a person does on the participant and expert pages, through their data-testid hooks.

import assert from 'node:assert/strict';
import { describeIce, readReceived, readSelectedPair, readSent } from './stats.mjs';
import { waitFor } from './poll.mjs';
import { sleep } from './server.mjs';

const ACTION_TIMEOUT_MS = 20_000;

/**
 * Waits until `predicate(arg)` is true inside the page. On timeout, throws with
 * `description` and the text of the page's error banner, if it shows one.
 */
export async function waitInPage(
  browserPage,
  description,
  predicate,
  arg,
  timeoutMs = ACTION_TIMEOUT_MS,
) {
  try {
    await browserPage.page.waitForFunction(predicate, arg, { timeout: timeoutMs, polling: 100 });
  } catch (error) {
    const banner = await bannerNote(browserPage);
    throw new Error(
      `${browserPage.name}: ${description} did not happen${banner}: ${error.message}`,
    );
  }
}

async function bannerNote(browserPage) {
  const text = await browserPage.errorBanner();
  return text ? `; the page shows the error "${text}"` : '';
}

/** Clicks the control with `testId` once it is visible and enabled. */
export async function clickTestId(browserPage, testId) {
  const control = browserPage.page.getByTestId(testId);
  try {
    await control.click({ timeout: ACTION_TIMEOUT_MS });
  } catch (error) {
    const banner = await bannerNote(browserPage);
    throw new Error(`${browserPage.name}: clicking ${testId} failed${banner}: ${error.message}`);
  }
}

/** Joins from the participant page and waits until the camera is sent. */
export async function joinAndPublish(participant) {
  await clickTestId(participant, 'join');
  try {
    await waitInPage(
      participant,
      'joining and connecting the publishing connection',
      () =>
        window.profstage?.phase === 'joined' &&
        window.profstage.publisher?.connectionState === 'connected',
    );
  } catch (error) {
    const ice = await describeIce(participant.page, 'publisher').catch((e) => String(e));
    throw new Error(`${error.message}\n  ${ice}`);
  }
  return waitFor(
    'the camera to be encoded and sent',
    () => readSent(participant.page),
    (sent) => sent.camera?.framesEncoded > 0 && sent.camera.packetsSent > 0,
  );
}

/** Starts screen sharing from the participant page and waits until the screen is sent. */
export async function shareScreen(participant) {
  await clickTestId(participant, 'share-screen');
  await participant.page
    .getByTestId('stop-sharing')
    .waitFor({ state: 'visible', timeout: ACTION_TIMEOUT_MS });
  return waitFor(
    'the screen to be encoded and sent',
    () => readSent(participant.page),
    (sent) => sent.screen?.framesEncoded > 0 && sent.screen.packetsSent > 0,
  );
}

/** Waits until the expert page has joined and shows `identity`'s tile as live. */
export async function waitForLiveTile(expert, identity) {
  await waitInPage(
    expert,
    `the tile of ${identity} to show live video`,
    (identity) => {
      const selector = `[data-testid="tile"][data-identity="${CSS.escape(identity)}"]`;
      return document.querySelector(selector)?.dataset.state === 'live';
    },
    identity,
  );
}

/**
 * Asserts that the expert page decodes at least `minFrames` new camera frames of `identity`
 * in `intervalMs`, once the camera arrives.
 */
export async function expectCameraFrames(
  expert,
  identity,
  { intervalMs = 3_000, minFrames = 5 } = {},
) {
  const read = () => readReceived(expert.page, identity);
  const first = await waitFor(
    `${expert.name} to receive the camera of ${identity}`,
    read,
    (received) => received?.camera,
  );
  await sleep(intervalMs);
  const second = await read();
  const before = first.camera.framesDecoded;
  const now = second?.camera?.framesDecoded ?? 0;
  assert.ok(
    now - before >= minFrames,
    `${expert.name}: camera framesDecoded went from ${before} to ${now} in ${intervalMs} ms, ` +
      `expected at least ${minFrames} more`,
  );
}

/**
 * Opens a participant page of `stage`, joins and publishes. Returns `{page, identity, pair}`,
 * where `pair` is the publishing connection's selected candidate pair.
 */
export async function participantPublishes(stage) {
  const { page, identity } = await stage.openPage({
    label: 'participant',
    html: 'participant',
    role: 'participant',
    name: 'Иванова А. П.',
  });
  await joinAndPublish(page);
  const pair = await readSelectedPair(page.page, 'publisher');
  return { page, identity, pair };
}

/**
 * Opens an expert page of `stage` in `browser` and checks that it shows `identity` live and
 * decodes new camera frames.
 */
export async function expertDecodesCamera(stage, identity, browser) {
  const { page } = await stage.openPage({
    label: 'expert',
    html: 'expert',
    role: 'expert',
    name: 'Эксперт',
    browser,
  });
  await waitForLiveTile(page, identity);
  await expectCameraFrames(page, identity);
}
