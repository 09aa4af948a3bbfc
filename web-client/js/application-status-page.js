// application-status.html#<token>: the status of one application, from its private link.
// The token also works as ?token=, but after # the browser never sends it to a server.

import { ApiError, fetchStatus } from './applications-api.js';
import { clearError, initErrorBanner, showError } from './error-banner.js';
import { currentLanguage, initLanguage, onLanguageChange, setText } from './i18n.js';

const loading = document.getElementById('loading');
let shown = null;

function tokenFromLocation() {
  const fragment = window.location.hash.replace(/^#/, '').replace(/^token=/, '');
  return fragment || new URLSearchParams(window.location.search).get('token') || '';
}

function formatTime(ms) {
  return new Date(ms).toLocaleString(currentLanguage(), {
    dateStyle: 'long',
    timeStyle: 'short',
  });
}

function field(testid) {
  return document.querySelector(`[data-testid="${testid}"]`);
}

function render(status) {
  const label = field('application-status');
  label.dataset.status = status.status;
  setText(label, `application.status.${status.status}`);
  if (status.number) {
    field('number').textContent = status.number;
  } else {
    setText(field('number'), 'application_status.no_number');
  }
  field('submitted-at').textContent = formatTime(status.submitted_at);
  field('updated-at').textContent = formatTime(status.updated_at);
  const rejected = Boolean(status.rejection_reason);
  field('reason-label').hidden = !rejected;
  field('reason').hidden = !rejected;
  field('reason').textContent = status.rejection_reason ?? '';
  document.getElementById('result').hidden = false;
}

async function load(token) {
  clearError();
  try {
    shown = await fetchStatus(token);
    render(shown);
  } catch (error) {
    const known = error instanceof ApiError && (error.status === 404 || error.status === 422);
    showError(known ? 'application_status.not_found' : 'application_status.unreachable');
  } finally {
    loading.hidden = true;
  }
}

function start() {
  initLanguage();
  initErrorBanner();
  const token = tokenFromLocation();
  if (!token) {
    loading.hidden = true;
    showError('application_status.no_token');
    return;
  }
  onLanguageChange(() => shown && render(shown));
  field('refresh').addEventListener('click', () => load(token));
  load(token);
}

start();
