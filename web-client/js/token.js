// The access token travels in the URL fragment, which browsers never send to a server,
// so it stays out of access logs and Referer headers.

import { currentSession, post } from './contest-api.js';

/** Reads the token from a fragment of the form `#token=...`; returns null when absent. */
export function tokenFromFragment(fragment = window.location.hash) {
  const params = new URLSearchParams(fragment.replace(/^#/, ''));
  const token = params.get('token');
  return token ? token : null;
}

/**
 * Returns the media token of this page: the one in `#token=...`, or, for a link of the form
 * `#room=ROOM` from the personal page, a new one that the signed-in session requests for
 * that room. Returns null when there is neither, or the server refuses; the reason goes to
 * the console.
 */
export async function tokenForPage(fragment = window.location.hash) {
  const token = tokenFromFragment(fragment);
  if (token !== null) {
    return token;
  }
  const room = new URLSearchParams(fragment.replace(/^#/, '')).get('room');
  if (!room) {
    return null;
  }
  try {
    const session = await currentSession();
    if (session === null) {
      return null;
    }
    const issued = await post(`/rooms/${encodeURIComponent(room)}/media-token`);
    return issued.token;
  } catch (error) {
    console.warn(`no media token for the room: ${error.message}`);
    return null;
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
