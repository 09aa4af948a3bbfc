// The contest API calls of the task page. Every reply that carries the server's `now`
// updates the page's ServerClock, timed from request to reply.

import { ApiError } from './applications-api.js';

let csrfToken = '';

async function send(clock, path, options = {}) {
  const headers = { ...(options.headers ?? {}) };
  if (options.method && options.method !== 'GET') {
    headers['X-CSRF-Token'] = csrfToken;
  }
  const sentAt = performance.now();
  const response = await fetch(path, {
    cache: 'no-store',
    credentials: 'same-origin',
    ...options,
    headers,
  });
  const receivedAt = performance.now();
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(response.status, body);
  }
  const serverNow = body?.now;
  if (clock && Number.isFinite(serverNow)) {
    clock.update(serverNow, sentAt, receivedAt);
  }
  return body;
}

/** Reads the signed-in person and remembers the CSRF token; rejects with 401 otherwise. */
export async function fetchMe() {
  const me = await send(null, '/api/v1/me');
  csrfToken = me.csrf_token;
  return me;
}

/** Lists the participant's started tasks: `{now, items}`. */
export function fetchMyTasks(clock) {
  return send(clock, '/api/v1/me/tasks');
}

/** Opens a task, which the server records, and returns its text and deadline. */
export function openTask(clock, id) {
  return send(clock, `/api/v1/tasks/${encodeURIComponent(id)}/open`, { method: 'POST' });
}

/** Saves the text answer. */
export function saveAnswer(clock, id, text) {
  return send(clock, `/api/v1/tasks/${encodeURIComponent(id)}/answer`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ text }),
  });
}

/** Uploads one file as the raw body, declared with the type the browser gives it. */
export function uploadFile(clock, id, file) {
  return send(clock, `/api/v1/tasks/${encodeURIComponent(id)}/uploads`, {
    method: 'POST',
    headers: { 'Content-Type': file.type || 'application/octet-stream' },
    body: file,
  });
}

/** The same-origin URL of a task's PDF. */
export function taskPdfUrl(id) {
  return `/api/v1/tasks/${encodeURIComponent(id)}/pdf`;
}
