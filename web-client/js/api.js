// HTTP endpoints of the server that the pages use before the WebSocket opens.

/** A non-2xx reply from the server. */
export class HttpError extends Error {
  constructor(path, status) {
    super(`${path} returned HTTP ${status}`);
    this.name = 'HttpError';
    this.status = status;
  }
}

async function requestJson(path, options = {}) {
  const response = await fetch(path, { cache: 'no-store', ...options });
  if (!response.ok) {
    throw new HttpError(path, response.status);
  }
  return response.json();
}

/** Fetches `{dev_mode, protocol}`: what the client must know before anything else. */
export function fetchInfo() {
  return requestJson('/api/v1/info');
}

/** Fetches the rooms offered in development mode, `[{id, title}]`. */
export function fetchRooms() {
  return requestJson('/api/dev/rooms');
}

/**
 * Requests a development token; `kind` is `contest` or `briefing`. Returns
 * `{token, identity, expires_at}`.
 */
export function requestToken({ room, name, role, kind = 'contest' }) {
  return requestJson('/api/dev/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ room, name, role, kind }),
  });
}
