// The timeline under the players: the recording's span from its start to its end (or to now
// while it is still being recorded), one bar per source with its segments and gaps, and the
// recording's events as markers. A click on a bar, a marker or the scrubber seeks there.
// On the scrubber, the arrow keys seek by 5 s, Page Up and Page Down by 60 s, and Home and
// End to either end.
//
// Event: `seek` (detail: {seconds} from the recording's start).

import { t } from './i18n.js';
import {
  eventDetail,
  eventName,
  formatClock,
  gapReasonName,
  sourceName,
} from './recording-format.js';

const SOURCE_ORDER = ['camera', 'microphone', 'screen'];
// Segments closer than this are drawn as one run, so a long recording stays a few elements.
const MERGE_TOLERANCE_MS = 250;
const KEY_STEPS_S = { ArrowLeft: -5, ArrowDown: -5, ArrowRight: 5, ArrowUp: 5,
  PageDown: -60, PageUp: 60 };

function span(className, attributes = {}) {
  const element = document.createElement('span');
  element.className = className;
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, value);
  }
  return element;
}

/**
 * Merges a source's adjacent segments into runs `{startMs, endMs, segments, missingPackets}`.
 * Segments with missing packets are merged only with each other, so the loss stays visible.
 */
export function segmentRuns(segments) {
  const sorted = [...segments].sort((a, b) => a.media_start_ms - b.media_start_ms);
  const runs = [];
  for (const segment of sorted) {
    const start = segment.media_start_ms;
    const end = start + segment.duration_ms;
    const lossy = (segment.missing_packets ?? 0) > 0;
    const last = runs.at(-1);
    if (last && start <= last.endMs + MERGE_TOLERANCE_MS && (last.missingPackets > 0) === lossy) {
      last.endMs = Math.max(last.endMs, end);
      last.segments += 1;
      last.missingPackets += segment.missing_packets ?? 0;
    } else {
      runs.push({ startMs: start, endMs: end, segments: 1,
        missingPackets: segment.missing_packets ?? 0 });
    }
  }
  return runs;
}

/** Lists the sources of segments and gaps: camera, microphone, screen, then others. */
export function timelineSources(manifest) {
  const found = new Set([...manifest.segments, ...manifest.gaps].map((item) => item.source));
  const known = SOURCE_ORDER.filter((source) => found.has(source));
  const others = [...found].filter((source) => !SOURCE_ORDER.includes(source)).sort();
  return [...known, ...others];
}

export class Timeline extends EventTarget {
  #root;
  #rows;
  #scrubber;
  #startLabel;
  #endLabel;
  #manifest = null;
  #startMs = 0;
  #spanMs = 1;
  #seconds = 0;

  /** @param {HTMLElement} root contains `.timeline-rows`, the scrubber and the end labels */
  constructor(root) {
    super();
    this.#root = root;
    this.#rows = root.querySelector('.timeline-rows');
    this.#scrubber = root.querySelector('.timeline-scrubber');
    this.#startLabel = root.querySelector('.timeline-start');
    this.#endLabel = root.querySelector('.timeline-end');
    this.#rows.addEventListener('pointerdown', (event) => this.#onPointer(event));
    this.#scrubber.addEventListener('pointerdown', (event) => this.#onPointer(event));
    this.#scrubber.addEventListener('keydown', (event) => this.#onKey(event));
  }

  /** Span of the timeline in seconds. */
  get spanSeconds() {
    return this.#spanMs / 1000;
  }

  /** Draws `manifest` over the span from its start to `endMs`. */
  render(manifest, endMs) {
    this.#manifest = manifest;
    this.#startMs = manifest.started_unix_ms;
    this.#spanMs = Math.max(1, endMs - manifest.started_unix_ms);
    const rows = timelineSources(manifest).map((source) => this.#sourceRow(source));
    rows.push(this.#eventRow(manifest.events));
    this.#rows.replaceChildren(...rows);
    this.#startLabel.textContent = formatClock(this.#startMs);
    this.#endLabel.textContent = formatClock(this.#startMs + this.#spanMs);
    this.#scrubber.setAttribute('aria-valuemax', String(Math.round(this.spanSeconds)));
    this.setTime(this.#seconds);
  }

  /** Moves the playhead to `seconds` from the recording's start. */
  setTime(seconds) {
    this.#seconds = seconds;
    const percent = Math.min(100, Math.max(0, (seconds * 1000 * 100) / this.#spanMs));
    this.#root.style.setProperty('--playhead', `${percent}%`);
    this.#scrubber.setAttribute('aria-valuenow', String(Math.round(seconds)));
    this.#scrubber.setAttribute('aria-valuetext', formatClock(this.#startMs + seconds * 1000));
  }

  #position(element, fromMs, toMs) {
    const left = (fromMs * 100) / this.#spanMs;
    const width = ((toMs - fromMs) * 100) / this.#spanMs;
    element.style.left = `${Math.max(0, left)}%`;
    element.style.width = `${Math.max(0, Math.min(width, 100 - left))}%`;
    element.dataset.align = left > 50 ? 'end' : 'start';
  }

  #row(label, className) {
    const row = span(`timeline-row ${className}`);
    const name = span('timeline-label');
    name.textContent = label;
    const track = span('timeline-track');
    row.append(name, track);
    return { row, track };
  }

  #sourceRow(source) {
    const { row, track } = this.#row(sourceName(source), 'timeline-source');
    row.dataset.source = source;
    const segments = this.#manifest.segments.filter((segment) => segment.source === source);
    for (const run of segmentRuns(segments)) {
      track.append(this.#runElement(run));
    }
    const gaps = this.#manifest.gaps.filter((gap) => gap.source === source);
    for (const gap of gaps) {
      track.append(this.#gapElement(gap));
    }
    return row;
  }

  #runElement(run) {
    const element = span('timeline-segment', { 'data-testid': 'timeline-segment' });
    element.classList.toggle('has-loss', run.missingPackets > 0);
    this.#position(element, run.startMs, run.endMs);
    const from = formatClock(this.#startMs + run.startMs);
    const to = formatClock(this.#startMs + run.endMs);
    const key = run.missingPackets > 0 ? 'timeline.run_with_loss' : 'timeline.run';
    element.dataset.tooltip = t(key, { from, to, count: run.segments,
      missing: run.missingPackets });
    return element;
  }

  #gapElement(gap) {
    const element = span('timeline-gap', {
      'data-testid': 'timeline-gap',
      'data-reason': gap.reason,
    });
    this.#position(element, gap.from_unix_ms - this.#startMs, gap.to_unix_ms - this.#startMs);
    element.dataset.tooltip = t('timeline.gap', {
      from: formatClock(gap.from_unix_ms),
      to: formatClock(gap.to_unix_ms),
      reason: gapReasonName(gap.reason),
    });
    return element;
  }

  #eventRow(events) {
    const { row, track } = this.#row(t('timeline.events'), 'timeline-events');
    for (const event of events) {
      track.append(this.#eventMarker(event));
    }
    return row;
  }

  #eventMarker(event) {
    const marker = document.createElement('button');
    marker.type = 'button';
    marker.className = 'timeline-event';
    marker.dataset.testid = 'timeline-event';
    marker.dataset.kind = event.kind;
    const offsetMs = event.at_unix_ms - this.#startMs;
    const percent = Math.min(100, Math.max(0, (offsetMs * 100) / this.#spanMs));
    marker.style.left = `${percent}%`;
    marker.dataset.align = percent > 50 ? 'end' : 'start';
    const text = this.#eventText(event);
    marker.dataset.tooltip = text;
    marker.setAttribute('aria-label', text);
    marker.addEventListener('pointerdown', (pointer) => pointer.stopPropagation());
    marker.addEventListener('click', () => this.#requestSeek(offsetMs / 1000));
    return marker;
  }

  #eventText(event) {
    const parts = [formatClock(event.at_unix_ms), eventName(event.kind)];
    if (event.source) {
      parts.push(`(${sourceName(event.source)})`);
    }
    const text = parts.join(' ');
    const detail = eventDetail(event);
    return detail ? `${text}: ${detail}` : text;
  }

  #onPointer(event) {
    if (event.button !== 0 || event.target.closest('.timeline-label')) {
      return;
    }
    const area = this.#scrubber.getBoundingClientRect();
    const seekTo = (clientX) => {
      const fraction = Math.min(1, Math.max(0, (clientX - area.left) / area.width));
      this.#requestSeek(fraction * this.spanSeconds);
    };
    seekTo(event.clientX);
    this.#scrubber.focus();
    const target = event.currentTarget;
    target.setPointerCapture(event.pointerId);
    const move = (moveEvent) => seekTo(moveEvent.clientX);
    target.addEventListener('pointermove', move);
    target.addEventListener('pointerup', () => target.removeEventListener('pointermove', move),
      { once: true });
  }

  #onKey(event) {
    let seconds = null;
    if (event.key in KEY_STEPS_S) {
      seconds = this.#seconds + KEY_STEPS_S[event.key];
    } else if (event.key === 'Home') {
      seconds = 0;
    } else if (event.key === 'End') {
      seconds = this.spanSeconds;
    }
    if (seconds !== null) {
      event.preventDefault(); // the page's own arrow-key handler skips prevented events
      this.#requestSeek(Math.min(this.spanSeconds, Math.max(0, seconds)));
    }
  }

  #requestSeek(seconds) {
    this.dispatchEvent(new CustomEvent('seek', { detail: { seconds } }));
  }
}

