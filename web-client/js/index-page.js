// index.html: in development mode, a form that gets a token and opens the right page.
// Otherwise a note that the organiser's personal link is needed.

import { fetchInfo, fetchRooms, requestToken } from './api.js';
import { clearError, initErrorBanner, showError } from './error-banner.js';
import { initLanguage } from './i18n.js';
import { pageLink } from './token.js';

const form = document.getElementById('join-form');
const roomSelect = document.getElementById('room');
const organiserView = document.getElementById('organiser-view');
const loading = document.getElementById('loading');
const personalLink = document.getElementById('personal-link');

/** Picks the page for a room kind and role. Organisers of a contest choose between two. */
function pageFor(kind, role, view) {
  if (kind === 'briefing') {
    return 'briefing.html';
  }
  if (role === 'expert' || (role === 'organiser' && view === 'watch')) {
    return 'expert.html';
  }
  return 'participant.html';
}

function fillRooms(rooms) {
  roomSelect.replaceChildren();
  for (const room of rooms) {
    const option = document.createElement('option');
    option.value = room.id;
    option.textContent = room.title || room.id;
    roomSelect.append(option);
  }
}

function showOrganiserView() {
  const contest = form.elements.kind.value === 'contest';
  organiserView.hidden = !contest || form.elements.role.value !== 'organiser';
}

async function submit(event) {
  event.preventDefault();
  clearError();
  const submitButton = form.querySelector('button[type="submit"]');
  submitButton.disabled = true;
  const role = form.elements.role.value;
  const kind = form.elements.kind.value;
  try {
    const { token } = await requestToken({
      room: roomSelect.value,
      name: form.elements.name.value.trim(),
      role,
      kind,
    });
    const page = pageFor(kind, role, form.elements.view.value);
    window.location.assign(pageLink(page, token));
  } catch {
    showError('index.token_failed');
    submitButton.disabled = false;
  }
}

async function start() {
  initLanguage();
  initErrorBanner();
  form.addEventListener('submit', submit);
  form.addEventListener('change', showOrganiserView);
  try {
    const info = await fetchInfo();
    if (!info.dev_mode) {
      personalLink.hidden = false;
      return;
    }
    fillRooms(await fetchRooms());
    form.hidden = false;
    showOrganiserView();
  } catch {
    showError('index.server_unreachable');
  } finally {
    loading.hidden = true;
  }
}

start();
