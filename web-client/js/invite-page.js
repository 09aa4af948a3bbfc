// invite.html#TOKEN: opens a personal invite link. The token travels after `#`, which
// browsers never send to a server; the page posts it once, removes it from the address bar
// and history, and goes to the personal page.

import { post } from './contest-api.js';
import { errorText } from './form-errors.js';
import { initLanguage, setText } from './i18n.js';

const status = document.querySelector('[data-testid="invite-status"]');

/** Reads the token from `#TOKEN` or `#token=TOKEN`; returns null when there is none. */
function inviteToken(fragment) {
  const text = fragment.replace(/^#/, '');
  const named = new URLSearchParams(text).get('token');
  const token = (named ?? text).trim();
  return /^[0-9a-fA-F]{64}$/.test(token) ? token : null;
}

/**
 * Returns the page to open after accepting: `scoring.html` for `next=scoring` (the experts'
 * scoring link), else the personal page. Only known pages are allowed, so that a link
 * cannot send the new session elsewhere.
 */
function nextPage(fragment) {
  const next = new URLSearchParams(fragment.replace(/^#/, '')).get('next');
  return next === 'scoring' ? 'scoring.html' : 'me.html';
}

async function accept() {
  const fragment = window.location.hash;
  const token = inviteToken(fragment);
  // The link works once, so it has no use in the history or in a bookmark.
  window.history.replaceState(null, '', window.location.pathname);
  if (token === null) {
    setText(status, 'invite.missing');
    return;
  }
  try {
    await post('/invites/accept', { token });
    window.location.replace(nextPage(fragment));
  } catch (error) {
    status.dataset.error = error.code ?? 'unreachable';
    setText(status, 'invite.failed', { reason: errorText(error) });
  }
}

initLanguage();
accept();
