// The contest API calls of the application pages. Public calls need no session; the
// organisers' calls send the session cookie and, when they change something, the CSRF
// token that GET /api/v1/me returns.

/** A non-2xx reply: its status, error code, reason of a conflict, message and invalid fields. */
export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? {};
    super(error.message ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = error.code ?? 'unknown';
    this.reason = error.reason ?? null;
    this.fields = error.fields ?? [];
  }
}

let csrfToken = '';

async function send(path, options = {}) {
  const headers = { ...(options.headers ?? {}) };
  if (options.method && options.method !== 'GET' && csrfToken) {
    headers['X-CSRF-Token'] = csrfToken;
  }
  const response = await fetch(path, {
    cache: 'no-store',
    credentials: 'same-origin',
    ...options,
    headers,
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(response.status, body);
  }
  return body;
}

function postJson(path, value) {
  return send(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(value),
  });
}

/** Fetches the form's data: contest, stage, nomination, dates and consent text. */
export function fetchForm(stage, nomination) {
  const query = new URLSearchParams({ stage, nomination });
  return send(`/api/v1/application-form?${query}`);
}

/** Sends the application as multipart/form-data; returns `{id, status_token, status_url}`. */
export function submitApplication(formData) {
  return send('/api/v1/applications', { method: 'POST', body: formData });
}

/** Fetches the status behind a status link's token. */
export function fetchStatus(token) {
  return postJson('/api/v1/application-status', { token });
}

/** Reads the signed-in person and remembers the CSRF token; rejects with 401 otherwise. */
export async function fetchMe() {
  const me = await send('/api/v1/me');
  csrfToken = me.csrf_token;
  return me;
}

/** Signs an organiser in and remembers the CSRF token. */
export async function signIn(login, password) {
  const session = await postJson('/api/v1/session', { login, password });
  csrfToken = session.csrf_token;
  return session;
}

/** Lists every item of a paged list, following `next_offset`. */
export async function fetchAll(path) {
  const items = [];
  let offset = 0;
  while (offset !== null) {
    const separator = path.includes('?') ? '&' : '?';
    const page = await send(`${path}${separator}limit=200&offset=${offset}`);
    items.push(...page.items);
    offset = page.next_offset;
  }
  return items;
}

/** Lists one page of applications; `filter` contains stage_id, nomination_id, status, name. */
export function fetchApplications(filter, offset, limit) {
  const query = new URLSearchParams({ offset: String(offset), limit: String(limit) });
  for (const [key, value] of Object.entries(filter)) {
    if (value) {
      query.set(key, value);
    }
  }
  return send(`/api/v1/applications?${query}`);
}

/** Fetches one application and its attachments' descriptions. */
export function fetchApplication(id) {
  return send(`/api/v1/applications/${encodeURIComponent(id)}`);
}

/** Changes the status of the listed applications, all or none; returns `{items}`. */
export function transitionApplications(ids, action, reason) {
  const body = reason === undefined ? { ids, action } : { ids, action, reason };
  return postJson('/api/v1/applications/transition', body);
}

/** Creates a one-time invite link for a person, with the server's default lifetime. */
export function createInvite(personId) {
  return postJson(`/api/v1/people/${encodeURIComponent(personId)}/invites`, {});
}

/** Returns the download address of an attachment. */
export function attachmentUrl(id) {
  return `/api/v1/attachments/${encodeURIComponent(id)}`;
}

/** Returns the CSV and printable export addresses of a stage's participants. */
export function exportUrls(stage) {
  const base = `/api/v1/stages/${encodeURIComponent(stage)}/participants`;
  return { csv: `${base}/csv`, html: `${base}/html` };
}
