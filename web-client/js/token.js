// The access token travels in the URL fragment, which browsers never send to a server,
// so it stays out of access logs and Referer headers.

import { currentSession, post } from './contest-api.js';

/** Reads the token from a fragment of the form `#token=...`; returns null when absent. */
export function tokenFromFragment(fragment = window.location.hash) {
  const params = new URLSearchParams(fragment.replace(/^#/, ''));
  const token = params.get('token');
  return token ? token : null;
}

// The i18n key that explains, by HTTP status, why the server issued no media token for a
// room link. 403 also covers a role that may join no room, but the usual cause is a contest
// room the person is not assigned to.
const ROOM_TOKEN_PROBLEMS = {
  401: 'token.missing',
  403: 'token.not_assigned',
  404: 'token.room_not_found',
  409: 'token.briefing_cancelled',
};

/**
 * Returns `{token, problem}` for this page. `token` is the one in `#token=...`, or, for a
 * link of the form `#room=ROOM` from the personal page, a new one that the signed-in session
 * requests for that room. Without a token it is null, and `problem` is the i18n key that
 * explains why; the server's reason also goes to the console.
 */
export async function tokenForPage(fragment = window.location.hash) {
  const token = tokenFromFragment(fragment);
  if (token !== null) {
    return { token, problem: null };
  }
  const missing = { token: null, problem: 'token.missing' };
  const room = new URLSearchParams(fragment.replace(/^#/, '')).get('room');
  if (!room) {
    return missing;
  }
  try {
    const session = await currentSession();
    if (session === null) {
      return missing;
    }
    const issued = await post(`/rooms/${encodeURIComponent(room)}/media-token`);
    return { token: issued.token, problem: null };
  } catch (error) {
    console.warn(`no media token for the room: ${error.message}`);
    const problem = ROOM_TOKEN_PROBLEMS[error.status] ?? 'token.unavailable';
    return { token: null, problem };
  }
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
