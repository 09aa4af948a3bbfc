// Formatting of times, durations, sizes and recording vocabulary in the page's language.

import { currentLanguage, t } from './i18n.js';

const LOCALES = { ru: 'ru-RU', en: 'en-GB' };
const KNOWN_SOURCES = new Set([
  'camera', 'microphone', 'screen', 'screen-audio', 'camera2', 'talk', 'talk-video',
]);
const KNOWN_STATUSES = new Set(['recording', 'complete', 'interrupted', 'no_media', 'failed']);
const KNOWN_LIVE_STATES = new Set(['starting', 'recording', 'gap', 'failed', 'ended']);
const KNOWN_EVENTS = new Set([
  'track_started', 'track_ended', 'left', 'loss', 'no_media', 'source_failed',
  'segment_failed', 'interrupted', 'stopped', 'talk_started', 'talk_ended',
  'task_opened', 'task_answer', 'task_upload', 'task_time_up',
]);
const KNOWN_SUBMISSION_KINDS = new Set(['text', 'pdf', 'jpeg', 'png']);
// The `reason` of a gap in a manifest → its key under `recording.gap_reason.`. The server
// writes only `no media`: the source sent nothing for longer than the gap threshold.
const GAP_REASON_KEYS = new Map([['no media', 'no_media']]);

function locale() {
  return LOCALES[currentLanguage()] ?? LOCALES.ru;
}

/** Formats Unix milliseconds as local date and time, e.g. "12 мар. 2026 г., 14:05:09". */
export function formatDateTime(unixMs) {
  const format = new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'medium' });
  return format.format(new Date(unixMs));
}

/** Formats Unix milliseconds as local wall-clock time with seconds, e.g. "14:05:09". */
export function formatClock(unixMs) {
  const format = new Intl.DateTimeFormat(locale(), {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  return format.format(new Date(unixMs));
}

/** Formats a duration in milliseconds as `m:ss` or `h:mm:ss`. */
export function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  if (hours > 0) {
    return `${hours}:${String(minutes).padStart(2, '0')}:${seconds}`;
  }
  return `${minutes}:${seconds}`;
}

/** Formats a playback rate, e.g. "1,5×" in Russian. */
export function formatRate(rate) {
  return `${new Intl.NumberFormat(locale()).format(rate)}×`;
}

/** Formats a byte count with a binary unit, e.g. "3.4 MiB". */
export function formatBytes(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = Math.max(0, Number(bytes) || 0);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  const number = new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(value);
  return `${number} ${t(`unit.${units[unit]}`)}`;
}

/** Translates a source ("camera", "screen", ...) and returns an unknown one unchanged. */
export function sourceName(source) {
  return KNOWN_SOURCES.has(source) ? t(`recording.source.${source}`) : String(source);
}

/** Translates a recording status and returns an unknown one unchanged. */
export function statusName(status) {
  return KNOWN_STATUSES.has(status) ? t(`recording.status.${status}`) : String(status);
}

/** Translates the live state of a recorded source and returns an unknown one unchanged. */
export function liveStateName(state) {
  return KNOWN_LIVE_STATES.has(state) ? t(`live.state.${state}`) : String(state);
}

/** Translates the kind of a recording event and returns an unknown one unchanged. */
export function eventName(kind) {
  return KNOWN_EVENTS.has(kind) ? t(`recording.event.${kind}`) : String(kind);
}

/** Translates a task submission's kind ("text", "pdf", ...), or returns an unknown one. */
export function submissionKindName(kind) {
  return KNOWN_SUBMISSION_KINDS.has(kind) ? t(`tasks.submission_kind.${kind}`) : String(kind);
}

/**
 * Returns the detail of a recording event to show, or null. A task event's detail, such as
 * `task=<id> submission=<id> kind=pdf`, is mostly ids, so only an upload's file kind shows.
 */
export function eventDetail(event) {
  // NOTE: the review page loads no task titles, so a task event does not name its task.
  if (!event.kind.startsWith('task_')) {
    return event.detail || null;
  }
  const kind = /(?:^| )kind=(\S+)/.exec(event.detail ?? '')?.[1];
  return event.kind === 'task_upload' && kind ? submissionKindName(kind) : null;
}

/** Translates the reason of a gap and returns an unknown one unchanged. */
export function gapReasonName(reason) {
  const key = GAP_REASON_KEYS.get(reason);
  return key ? t(`recording.gap_reason.${key}`) : String(reason);
}
