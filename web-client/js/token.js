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
