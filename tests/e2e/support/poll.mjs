// Polling for conditions that the browser or the server reach asynchronously.

import { sleep } from './server.mjs';

/**
 * Calls `probe` every `intervalMs` until `accept` returns true for its result or
 * `timeoutMs` has passed, and returns the last result either way, so that the caller's
 * assertions report what was seen.
 */
export async function pollUntil(probe, accept, { timeoutMs = 15_000, intervalMs = 200 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() >= deadline) {
      return value;
    }
    await sleep(intervalMs);
  }
}

/** Like `pollUntil`, but throws with `description` and the last result on timeout. */
export async function waitFor(description, probe, accept, options = {}) {
  let accepted = false;
  const value = await pollUntil(
    probe,
    (candidate) => (accepted = Boolean(accept(candidate))),
    options,
  );
  if (!accepted) {
    const timeoutMs = options.timeoutMs ?? 15_000;
    throw new Error(
      `timed out after ${timeoutMs} ms waiting for ${description}; ` +
        `last result: ${JSON.stringify(value)}`,
    );
  }
  return value;
}
