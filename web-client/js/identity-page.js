// identity.html?test=<id>: the identity snapshots of one theory test, for the experts of its
// nomination and organisers. Each snapshot shows with its status; a pending one gets
// «Confirm» and «Reject» (with a reason). Every image the page loads is a read that the
// server audits.

import { currentSession, get, post } from './contest-api.js';
import { button, element } from './dom.js';
import { clearError, initErrorBanner, showError } from './error-banner.js';
import { errorText } from './form-errors.js';
import { initLanguage, onLanguageChange, t } from './i18n.js';
import { formatTime } from './time-format.js';

const testId = new URLSearchParams(window.location.search).get('test') ?? '';
const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);
let checks = [];

function statusKey(check) {
  return `identity.status_${check.status}`;
}

function renderCheck(check) {
  const image = element('img', {
    className: 'identity-snapshot',
    testid: 'check-image',
    attrs: { src: `/api/v1/identity-checks/${encodeURIComponent(check.id)}/snapshot`, alt: '' },
  });
  const item = element('li', {
    className: 'item identity-check',
    testid: 'check',
    attrs: { 'data-id': check.id, 'data-status': check.status },
  }, [
    element('strong', { text: check.full_name }),
    ' ',
    element('span', {
      className: 'muted',
      key: 'identity.uploaded',
      vars: { time: formatTime(check.uploaded_at), size: Math.ceil(check.size / 1024) },
    }),
    image,
    element('p', { testid: 'check-status', key: statusKey(check), vars: { reason: check.reason ?? '' } }),
  ]);
  if (check.status === 'pending') {
    const reason = element('input', {
      testid: 'reject-reason',
      attrs: { type: 'text', maxlength: '500', 'aria-label': t('identity.reason') },
    });
    reason.placeholder = t('identity.reason');
    item.append(
      button('identity.confirm', 'confirm', () => review(check, { decision: 'confirm' }), 'button primary'),
      ' ',
      reason,
      ' ',
      button('identity.reject', 'reject', () =>
        review(check, { decision: 'reject', reason: reason.value }), 'button danger'),
    );
  }
  return item;
}

function render() {
  byTestId('checks').replaceChildren(...checks.map(renderCheck));
  byTestId('no-checks').hidden = checks.length > 0;
}

async function review(check, body) {
  clearError();
  try {
    await post(`/identity-checks/${encodeURIComponent(check.id)}/review`, body);
  } catch (error) {
    showError('identity.failed', { reason: errorText(error) });
  }
  await load();
}

async function load() {
  try {
    checks = await get(`/theory-tests/${encodeURIComponent(testId)}/identity-checks`);
  } catch (error) {
    showError('identity.failed', { reason: errorText(error) });
    return;
  }
  render();
}

async function start() {
  initLanguage();
  initErrorBanner();
  if (!testId) {
    showError('identity.no_test');
    return;
  }
  try {
    await currentSession();
  } catch (error) {
    showError('identity.failed', { reason: errorText(error) });
    return;
  }
  byTestId('reload').addEventListener('click', load);
  onLanguageChange(render);
  await load();
}

start();
