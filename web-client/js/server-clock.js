// The server's clock as seen from the page. Each reply that carries the server's `now` sets
// the estimate, and time then runs on performance.now(), which counts from page load and
// ignores the computer's wall clock. A wrong or changed system clock moves nothing here.

export class ServerClock {
  #serverMs = null;
  #atMonotonic = 0;

  /**
   * Records the server's `now` from a reply to a request sent at `sentAt` and received at
   * `receivedAt` (both performance.now() values). The server read its clock somewhere in
   * between, so the midpoint is the best guess.
   */
  update(serverNow, sentAt, receivedAt) {
    this.#serverMs = serverNow;
    this.#atMonotonic = (sentAt + receivedAt) / 2;
  }

  /** Whether a server time has been received. */
  get known() {
    return this.#serverMs !== null;
  }

  /** The estimated server time now, in Unix milliseconds. */
  now() {
    return this.#serverMs + (performance.now() - this.#atMonotonic);
  }

  /** Milliseconds until `deadline` on the server's clock, never below zero. */
  remaining(deadline) {
    return Math.max(0, deadline - this.now());
  }
}

/** Formats milliseconds as H:MM:SS, rounding up so that 0:00:00 means the time is up. */
export function formatRemaining(ms) {
  const total = Math.ceil(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n) => String(n).padStart(2, '0');
  return `${hours}:${pad(minutes)}:${pad(seconds)}`;
}
