// The contest API under /api/v1 for the signed-in pages: the session cookie goes with every
// request, and every state-changing request carries the session's CSRF token in the
// X-CSRF-Token header, as the server requires.

/** An error reply of the contest API: `{error: {code, message, fields}}`. */
export class ApiError extends Error {
  constructor(status, body, retryAfter = null) {
    const error = body?.error ?? {};
    super(error.message ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = error.code ?? 'unknown';
    this.reason = error.reason ?? null;
    this.fields = Array.isArray(error.fields) ? error.fields : [];
    this.retryAfter = retryAfter;
  }
}

let csrfToken = null;

/** Remembers the CSRF token of a new session, from a sign-in or `GET /me`. */
export function setCsrfToken(token) {
  csrfToken = token;
}

/**
 * Sends `method path` with an optional JSON body and returns the parsed reply, or null for
 * 204. Throws ApiError for a non-2xx reply.
 */
export async function request(method, path, body = undefined) {
  const raw =
    body === undefined ? undefined : { type: 'application/json', content: JSON.stringify(body) };
  return send(method, path, raw);
}

/** Posts a file or text as the raw body, declared as `type`, and returns the parsed reply. */
export function upload(path, content, type) {
  return send('POST', path, { type, content });
}

async function send(method, path, raw) {
  const headers = {};
  if (raw !== undefined) {
    headers['Content-Type'] = raw.type;
  }
  if (!['GET', 'HEAD'].includes(method) && csrfToken !== null) {
    headers['X-CSRF-Token'] = csrfToken;
  }
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: raw?.content,
    credentials: 'same-origin',
    cache: 'no-store',
  });
  if (response.status === 204) {
    return null;
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    const retryAfter = Number.parseInt(response.headers.get('Retry-After') ?? '', 10);
    throw new ApiError(response.status, parsed, Number.isNaN(retryAfter) ? null : retryAfter);
  }
  return parsed;
}

/**
 * Sends `body`, a Blob or File, as the raw request body of `method path` with its own media
 * type, and returns the parsed reply as `request` does.
 */
export async function sendFile(method, path, body) {
  const headers = { 'Content-Type': body.type || 'application/octet-stream' };
  if (csrfToken !== null) {
    headers['X-CSRF-Token'] = csrfToken;
  }
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body,
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const parsed = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(response.status, parsed);
  }
  return parsed;
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body);
export const patch = (path, body) => request('PATCH', path, body);
export const put = (path, body) => request('PUT', path, body);
export const remove = (path) => request('DELETE', path);

/**
 * Returns the signed-in person's `{person, csrf_token, expires_at}` and remembers the CSRF
 * token, or null when there is no live session.
 */
export async function currentSession() {
  try {
    const me = await get('/me');
    setCsrfToken(me.csrf_token);
    return me;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      return null;
    }
    throw error;
  }
}

/** Fetches every page of a list route such as `/contests`, up to 2,000 entries. */
export async function listAll(path) {
  const items = [];
  let offset = 0;
  const separator = path.includes('?') ? '&' : '?';
  while (offset !== null && items.length < 2000) {
    const page = await get(`${path}${separator}limit=200&offset=${offset}`);
    items.push(...page.items);
    offset = page.next_offset;
  }
  return items;
}
