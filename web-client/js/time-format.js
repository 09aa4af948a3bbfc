// Dates and times of the contest API, which are Unix milliseconds, in the page language
// and the browser's time zone.

import { currentLanguage } from './i18n.js';

/** Formats Unix milliseconds as a local date and time, or a dash for an invalid time. */
export function formatTime(ms) {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) {
    return '—';
  }
  const format = new Intl.DateTimeFormat(currentLanguage(), {
    dateStyle: 'medium',
    timeStyle: 'short',
  });
  return format.format(date);
}

/** Returns the value of an `<input type="datetime-local">` for Unix milliseconds. */
export function toLocalInput(ms) {
  const date = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}

/** Returns Unix milliseconds for a `datetime-local` value, or null when it is empty. */
export function fromLocalInput(value) {
  if (!value) {
    return null;
  }
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? null : ms;
}
