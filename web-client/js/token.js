// The access token travels in the URL fragment, which browsers never send to a server,
// so it stays out of access logs and Referer headers.

/** Reads the token from a fragment of the form `#token=...`; returns null when absent. */
export function tokenFromFragment(fragment = window.location.hash) {
  const params = new URLSearchParams(fragment.replace(/^#/, ''));
  const token = params.get('token');
  return token ? token : null;
}

/** Builds a link to `page` that carries `token` in its fragment. */
export function pageLink(page, token) {
  return `${page}#token=${encodeURIComponent(token)}`;
}

/**
 * Reads an optional preferred video codec from the fragment (`#token=...&codec=vp9`), as a
 * MIME type such as `video/VP9`. Support staff use it to work around a codec that fails on
 * one machine; tests use it to check each codec. Returns null when absent or unknown.
 */
export function videoCodecFromFragment(fragment = window.location.hash) {
  const params = new URLSearchParams(fragment.replace(/^#/, ''));
  const names = { vp8: 'video/VP8', vp9: 'video/VP9', h264: 'video/H264', av1: 'video/AV1' };
  return names[params.get('codec')?.toLowerCase()] ?? null;
}
