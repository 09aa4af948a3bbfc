// The "now recording" panel: polls the room's live recording state every 2 s while the page
// is visible. A participant is highlighted while segments wait for upload or a source failed.

import { setText } from './i18n.js';
import { formatBytes, liveStateName, sourceName } from './recording-format.js';

const POLL_INTERVAL_MS = 2000;

function sourceItem(source) {
  const item = document.createElement('li');
  item.className = 'live-source';
  item.dataset.state = source.state;
  item.dataset.source = source.source;
  item.textContent = `${sourceName(source.source)}: ${liveStateName(source.state)}, `
    + formatBytes(source.bytes);
  return item;
}

function needsAttention(entry) {
  return (entry.pending_upload ?? 0) > 0
    || (entry.sources ?? []).some((source) => source.state === 'failed');
}

function participantItem(entry) {
  const item = document.createElement('li');
  item.className = 'live-participant';
  item.dataset.testid = 'live-participant';
  item.dataset.participant = entry.participant;
  item.dataset.attention = String(needsAttention(entry));

  const name = document.createElement('strong');
  name.textContent = entry.participant_name || entry.participant;
  const sources = document.createElement('ul');
  sources.className = 'live-sources';
  sources.append(...(entry.sources ?? []).map(sourceItem));
  const backlog = document.createElement('span');
  backlog.className = 'live-backlog';
  backlog.dataset.testid = 'live-backlog';
  setText(backlog, 'live.backlog', { count: entry.pending_upload ?? 0 });

  item.append(name, sources, backlog);
  return item;
}

export class LivePanel {
  #api;
  #room;
  #elements;
  #timer = null;
  #running = false;
  #entries = null;

  /**
   * @param {HTMLElement} panel the section holding `.live-list`, `.live-empty` and
   *   `.live-error`
   */
  constructor(panel, api, room) {
    this.#api = api;
    this.#room = room;
    this.#elements = {
      list: panel.querySelector('.live-list'),
      empty: panel.querySelector('.live-empty'),
      error: panel.querySelector('.live-error'),
    };
    document.addEventListener('visibilitychange', () => this.#onVisibility());
  }

  /** Starts polling with an immediate first request. */
  start() {
    this.#running = true;
    this.#schedule(0);
  }

  /** Stops polling for good, for example after the server rejected the token. */
  stop() {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Renders the last reply again, for a language switch. */
  render() {
    if (this.#entries === null) {
      return;
    }
    this.#elements.list.replaceChildren(...this.#entries.map(participantItem));
    this.#elements.empty.hidden = this.#entries.length > 0;
  }

  #schedule(delayMs) {
    clearTimeout(this.#timer);
    this.#timer = this.#running && !document.hidden
      ? setTimeout(() => this.#poll(), delayMs)
      : null;
  }

  #onVisibility() {
    if (!document.hidden && this.#running && this.#timer === null) {
      this.#schedule(0);
    }
  }

  async #poll() {
    const started = performance.now();
    try {
      this.#entries = await this.#api.live(this.#room);
      this.#elements.error.hidden = true;
      this.render();
    } catch (error) {
      this.#showError(error);
    }
    this.#schedule(Math.max(0, POLL_INTERVAL_MS - (performance.now() - started)));
  }

  #showError(error) {
    const final = error?.kind === 'unauthorized' || error?.kind === 'forbidden';
    setText(this.#elements.error, final ? 'live.no_access' : 'live.unavailable');
    this.#elements.error.hidden = false;
    if (final) {
      this.stop();
    }
  }
}
