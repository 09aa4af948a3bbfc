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
  const headers = {};
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  if (!['GET', 'HEAD'].includes(method) && csrfToken !== null) {
    headers['X-CSRF-Token'] = csrfToken;
  }
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
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
