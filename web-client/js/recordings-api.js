// The server's recording endpoints, all under /api/v1/recordings. Every request carries the
// expert's or organiser's token as a bearer header. The media URLs that a recording lists are
// the exception: a <video> element cannot send headers, so the server makes those URLs
// usable on their own.

/**
 * A failed request. `kind` is what the page acts on:
 * `unauthorized` (401: the link is invalid or expired), `forbidden` (403), `not_found` (404),
 * `server` (another HTTP status) or `network` (no reply, or a reply that is not JSON).
 */
export class RecordingsApiError extends Error {
  constructor(path, kind, { status = null, code = null, cause = null } = {}) {
    super(`${path} failed: ${status === null ? kind : `HTTP ${status}`}`, { cause });
    this.name = 'RecordingsApiError';
    this.path = path;
    this.kind = kind;
    this.status = status;
    this.code = code;
  }

  /** True when asking again may help. */
  get retryable() {
    return this.kind === 'network' || this.kind === 'server';
  }
}

const KIND_BY_STATUS = { 401: 'unauthorized', 403: 'forbidden', 404: 'not_found' };

/** Reads the stable code of the server's `{"error": {"code", "message"}}` body, if any. */
async function errorCode(response) {
  try {
    const body = await response.json();
    return typeof body?.error?.code === 'string' ? body.error.code : null;
  } catch {
    return null;
  }
}

async function getJson(path, token, signal) {
  let response;
  try {
    response = await fetch(path, {
      cache: 'no-store',
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
      signal,
    });
  } catch (cause) {
    if (cause?.name === 'AbortError') {
      throw cause;
    }
    throw new RecordingsApiError(path, 'network', { cause });
  }
  if (!response.ok) {
    const kind = KIND_BY_STATUS[response.status] ?? 'server';
    throw new RecordingsApiError(path, kind, {
      status: response.status,
      code: await errorCode(response),
    });
  }
  try {
    return await response.json();
  } catch (cause) {
    throw new RecordingsApiError(path, 'network', { status: response.status, cause });
  }
}

/** Data access for one room, with the token of an expert or organiser of that room. */
export class RecordingsApi {
  #token;

  constructor(token) {
    this.#token = token;
  }

  /** Fetches the room's recordings, `[{id, participant_name, status, ...}]`. */
  async list(room, signal) {
    const body = await getJson(`/api/v1/recordings?room=${encodeURIComponent(room)}`,
      this.#token, signal);
    return Array.isArray(body?.recordings) ? body.recordings : [];
  }

  /** Fetches what is being recorded now, one entry per participant. */
  async live(room, signal) {
    const body = await getJson(`/api/v1/recordings/live?room=${encodeURIComponent(room)}`,
      this.#token, signal);
    return Array.isArray(body?.participants) ? body.participants : [];
  }

  /** Fetches a recording's manifest with `participant_name` and the `media` URLs. */
  recording(id, signal) {
    return getJson(`/api/v1/recordings/${encodeURIComponent(id)}`, this.#token, signal);
  }

  /** Requests a re-hash of every segment and returns `{ok, segments_checked, problems}`. */
  verify(id, signal) {
    return getJson(`/api/v1/recordings/${encodeURIComponent(id)}/verify`, this.#token, signal);
  }
}

/**
 * Reads the `room` claim of a token without checking its signature: the page only needs to
 * know which room to ask about, and the server checks the token on every request.
 * Returns null when the token is not a JWT with a room claim.
 */
export function roomOfToken(token) {
  const payload = token.split('.')[1];
  if (!payload) {
    return null;
  }
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims?.room === 'string' && claims.room !== '' ? claims.room : null;
  } catch {
    return null;
  }
}
