// The phone camera link endpoints: a participant's page requests a one-time link, and the
// phone exchanges its secret for a phone camera token. See docs/signalling.md, "Phone
// camera".

/** A failed request; `code` is the server's error code, such as `link_used`. */
export class PhoneLinkError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.name = 'PhoneLinkError';
    this.status = status;
    this.code = code;
  }
}

async function postJson(path, body, headers = {}) {
  const response = await fetch(path, {
    method: 'POST',
    cache: 'no-store',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const reply = await response.json().catch(() => null);
  if (!response.ok) {
    const error = reply?.error ?? {};
    throw new PhoneLinkError(response.status, error.code ?? null, error.message ?? '');
  }
  return reply;
}

/**
 * Asks for a link that lets a phone publish the second camera of the holder of `token`,
 * a participant in `room`. Returns `{link, qr_svg, expires_at_ms, expires_in_ms}`.
 */
export function requestPhoneLink(room, token) {
  const pageUrl = new URL('phone.html', window.location.href).href;
  const path = `/api/v1/rooms/${encodeURIComponent(room)}/phone-links`;
  return postJson(path, { page_url: pageUrl }, { Authorization: `Bearer ${token}` });
}

/** Exchanges a link's secret for `{token, room, identity, name, expires_at}`. */
export function redeemPhoneLink(secret) {
  return postJson('/api/v1/phone-links/redeem', { secret });
}
