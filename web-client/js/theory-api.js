// The contest API calls of the theory test page. Replies that carry the server's `now`
// update the page's ServerClock through tasks-api.js's send().

import { send } from './tasks-api.js';

const base = (id) => `/api/v1/theory-tests/${encodeURIComponent(id)}`;

/** Fetches the test's times, the newest identity snapshot and `now`, also before the start. */
export function fetchIntro(clock, id) {
  return send(clock, `${base(id)}/intro`);
}

/** Sends the identity snapshot, a JPEG blob, as the raw body. */
export function sendSnapshot(clock, id, blob) {
  return send(clock, `${base(id)}/identity`, {
    method: 'POST',
    headers: { 'Content-Type': 'image/jpeg' },
    body: blob,
  });
}

/** Opens the test: the questions in this participant's order, saved answers, deadline. */
export function openTest(clock, id) {
  return send(clock, `${base(id)}/open`, { method: 'POST' });
}

/** Saves one answer: `{selected: [numbers]}` or `{text}`. */
export function saveAnswer(clock, id, questionId, answer) {
  return send(clock, `${base(id)}/answers/${encodeURIComponent(questionId)}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(answer),
  });
}

/** Hands the test in. */
export function finishTest(clock, id) {
  return send(clock, `${base(id)}/finish`, { method: 'POST' });
}
