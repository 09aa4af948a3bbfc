// What a person does on the participant and expert pages, through their data-testid hooks.

import { readSent } from './stats.mjs';
import { waitFor } from './poll.mjs';

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
  await waitInPage(
    participant,
    'joining and connecting the publishing connection',
    () =>
      window.profstage?.phase === 'joined' &&
      window.profstage.publisher?.connectionState === 'connected',
  );
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
