// Playback controls of the recording view: play/pause, the rate buttons, the session clock,
// and the keyboard (Space plays or pauses, the left and right arrows seek by 5 s).

import { setText } from './i18n.js';
import { formatClock, formatDuration, formatRate } from './recording-format.js';

export const RATES = [0.5, 1, 1.5, 2, 4, 8];
const ARROW_STEP_S = 5;
const TYPING_TAGS = new Set(['INPUT', 'SELECT', 'TEXTAREA']);
const CLICKABLE_TAGS = new Set(['BUTTON', 'A', 'SUMMARY']);

/** True when a key press belongs to a form field or carries a modifier. */
function belongsToField(event) {
  const target = event.target;
  return event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey
    || TYPING_TAGS.has(target?.tagName) || target?.isContentEditable;
}

export class PlaybackControls {
  #player;
  #elements;
  #startMs;
  #spanMs;
  #keys = new AbortController();

  /**
   * @param {object} elements `play`, `rates` (the group of rate buttons), `clock` and
   *   `elapsed`
   * @param {number} startMs the recording's start in Unix milliseconds
   * @param {number} spanMs the timeline's span in milliseconds
   */
  constructor(elements, player, startMs, spanMs) {
    this.#elements = elements;
    this.#player = player;
    this.#startMs = startMs;
    this.#spanMs = spanMs;
    elements.play.onclick = () => player.togglePlay().catch(() => {});
    elements.rates.onclick = (event) => this.#onRateClick(event);
    document.addEventListener('keydown', (event) => this.#onKey(event),
      { signal: this.#keys.signal });
    this.render();
  }

  /** Brings the button, the pressed rate and the clock up to date. */
  render() {
    const { play, rates } = this.#elements;
    const ready = this.#player.state().master !== null;
    play.disabled = !ready;
    setText(play, this.#player.paused ? 'player.play' : 'player.pause');
    play.setAttribute('aria-pressed', String(!this.#player.paused));
    for (const button of rates.querySelectorAll('button[data-rate]')) {
      const rate = Number(button.dataset.rate);
      button.textContent = formatRate(rate);
      button.setAttribute('aria-pressed', String(rate === this.#player.rate));
      button.disabled = !ready;
    }
    this.renderTime();
  }

  /** Shows the session's wall-clock time at the current position and the elapsed time. */
  renderTime() {
    const seconds = this.#player.currentTime;
    this.#elements.clock.textContent = formatClock(this.#startMs + seconds * 1000);
    this.#elements.elapsed.textContent =
      `${formatDuration(seconds * 1000)} / ${formatDuration(this.#spanMs)}`;
  }

  /** Stops listening to the keyboard. */
  destroy() {
    this.#keys.abort();
    this.#elements.play.onclick = null;
    this.#elements.rates.onclick = null;
  }

  #onRateClick(event) {
    const button = event.target.closest('button[data-rate]');
    if (button) {
      this.#player.setRate(Number(button.dataset.rate));
      this.render();
    }
  }

  #onKey(event) {
    if (belongsToField(event)) {
      return;
    }
    if (event.key === ' ' && !CLICKABLE_TAGS.has(event.target?.tagName)) {
      event.preventDefault();
      this.#player.togglePlay().catch(() => {});
    } else if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
      event.preventDefault();
      const step = event.key === 'ArrowLeft' ? -ARROW_STEP_S : ARROW_STEP_S;
      this.#player.seek(this.#player.currentTime + step);
    }
  }
}

/** Fills the rate group with one button per rate. */
export function createRateButtons(group) {
  group.replaceChildren(...RATES.map((rate) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'button rate';
    button.dataset.rate = String(rate);
    button.dataset.testid = `rate-${rate}`;
    return button;
  }));
}
