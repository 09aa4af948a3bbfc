// applications.html: the organisers' list of applications, with filters, a name search,
// pages, bulk status changes, a reject dialog that needs a reason, one application's
// details with its attachments and, once accepted, its participant's invite link, and
// links to the participant exports of a stage.

import {
  ApiError,
  exportUrls,
  fetchAll,
  fetchApplication,
  fetchApplications,
  fetchMe,
  signIn,
  transitionApplications,
} from './applications-api.js';
import { initParticipantInvite, showParticipant } from './application-invite.js';
import { renderDetail, renderRows } from './applications-table.js';
import { clearError, initErrorBanner, showError } from './error-banner.js';
import { errorText } from './form-errors.js';
import { initLanguage, onLanguageChange, setText, t } from './i18n.js';

const PAGE_SIZE = 50;
// The status an application needs for each bulk action, as the server checks it.
const REQUIRED_STATUS = {
  register: 'submitted',
  start_review: 'registered',
  accept: 'under_review',
  reject: 'under_review',
};

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);
const filters = document.getElementById('filters');
const tbody = byTestId('applications').querySelector('tbody');
const detail = document.getElementById('detail');
const rejectDialog = document.getElementById('reject-dialog');
const bulkButtons = [...document.querySelectorAll('button[data-action]')];

const state = {
  offset: 0,
  items: [],
  nextOffset: null,
  selected: new Set(),
  stages: new Map(),
  nominations: [],
  professions: new Map(),
};

function option(value, text) {
  const element = document.createElement('option');
  element.value = value;
  element.textContent = text;
  return element;
}

/** Loads every contest's stages and nominations for the filters. */
async function loadStructure() {
  for (const contest of await fetchAll('/api/v1/contests')) {
    for (const stage of await fetchAll(`/api/v1/contests/${contest.id}/stages`)) {
      state.stages.set(stage.id, `${contest.name} — ${stage.region}`);
      const nominations = await fetchAll(`/api/v1/stages/${stage.id}/nominations`);
      for (const nomination of nominations) {
        state.nominations.push(nomination);
        state.professions.set(nomination.id, nomination.profession);
      }
    }
  }
  const stageSelect = filters.elements.stage_id;
  for (const [id, label] of state.stages) {
    stageSelect.append(option(id, label));
  }
  fillNominations();
}

function fillNominations() {
  const select = filters.elements.nomination_id;
  const stage = filters.elements.stage_id.value;
  const keep = select.value;
  select.replaceChildren(select.options[0]);
  for (const nomination of state.nominations) {
    if (!stage || nomination.stage_id === stage) {
      select.append(option(nomination.id, nomination.profession));
    }
  }
  select.value = [...select.options].some((o) => o.value === keep) ? keep : '';
}

function currentFilter() {
  const { stage_id, nomination_id, status, name } = filters.elements;
  return {
    stage_id: stage_id.value,
    nomination_id: nomination_id.value,
    status: status.value,
    name: name.value.trim(),
  };
}

function updateExports() {
  const stage = filters.elements.stage_id.value;
  const csv = byTestId('export-csv');
  const html = byTestId('export-html');
  csv.hidden = html.hidden = !stage;
  byTestId('export-hint').hidden = Boolean(stage);
  if (stage) {
    const urls = exportUrls(stage);
    csv.href = urls.csv;
    html.href = urls.html;
  }
}

function updateSelection() {
  const count = state.selected.size;
  setText(byTestId('selected-count'), 'applications.selected', { count });
  for (const button of bulkButtons) {
    button.disabled = count === 0;
  }
  const all = byTestId('select-all');
  all.checked = count > 0 && state.items.every((item) => state.selected.has(item.id));
}

function renderPage() {
  const open = (id) => openDetail(id);
  renderRows(tbody, state.items, { professions: state.professions, selected: state.selected, onOpen: open });
  byTestId('list-empty').hidden = state.items.length > 0;
  const first = state.items.length ? state.offset + 1 : 0;
  setText(byTestId('page-range'), 'applications.range', {
    first,
    last: state.offset + state.items.length,
  });
  byTestId('previous-page').disabled = state.offset === 0;
  byTestId('next-page').disabled = state.nextOffset === null;
  updateSelection();
}

async function loadPage(offset) {
  clearError();
  try {
    const page = await fetchApplications(currentFilter(), offset, PAGE_SIZE);
    state.offset = offset;
    state.items = page.items;
    state.nextOffset = page.next_offset;
    const shown = new Set(page.items.map((item) => item.id));
    for (const id of state.selected) {
      if (!shown.has(id)) {
        state.selected.delete(id);
      }
    }
    renderPage();
  } catch (error) {
    showFailure(error);
  }
}

async function openDetail(id) {
  clearError();
  try {
    const shown = await fetchApplication(id);
    renderDetail(detail, shown);
    showParticipant(shown.application);
    detail.scrollIntoView({ block: 'nearest' });
  } catch (error) {
    showFailure(error);
  }
}

function showFailure(error) {
  if (error instanceof ApiError && error.status < 500) {
    showError('applications.failed', { message: errorText(error) });
  } else {
    showError('applications.unreachable');
  }
}

/**
 * Shows why `action` failed on the applications `ids`. When one of them has the wrong
 * status, the list is reloaded and the message names the first selected application whose
 * status does not allow the action, with its status and the one required.
 */
async function showActionFailure(action, ids, error) {
  if (!(error instanceof ApiError) || error.reason !== 'invalid_transition') {
    showFailure(error);
    return;
  }
  await loadPage(state.offset);
  const required = REQUIRED_STATUS[action];
  const blocked = state.items.find((item) => ids.includes(item.id) && item.status !== required);
  if (!blocked) {
    showFailure(error);
    return;
  }
  showError(`applications.wrong_status.${action}`, {
    name: blocked.full_name,
    current: t(`application.status.${blocked.status}`),
    required: t(`application.status.${required}`),
  });
}

/** Applies `action` to every selected application, all or none, and shows any error. */
async function runAction(action, reason) {
  clearError();
  const ids = [...state.selected];
  try {
    await transitionApplications(ids, action, reason);
    state.selected.clear();
    detail.hidden = true;
    await loadPage(state.offset);
    if (action === 'accept' && ids.length === 1) {
      // The participant now exists: show the details, which offer their invite link.
      await openDetail(ids[0]);
    }
  } catch (error) {
    await showActionFailure(action, ids, error);
  }
}

async function onBulk(action) {
  if (action === 'reject') {
    byTestId('reject-reason').value = '';
    byTestId('reject-error').hidden = true;
    rejectDialog.showModal();
    return;
  }
  await runAction(action);
}

async function onRejectClose() {
  if (rejectDialog.returnValue !== 'reject') {
    return;
  }
  const reason = byTestId('reject-reason').value.trim();
  const problem = byTestId('reject-error');
  if (!reason) {
    setText(problem, 'applications.reason_required');
    problem.hidden = false;
    rejectDialog.showModal();
    return;
  }
  await runAction('reject', reason);
}

function wireWorkspace() {
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    loadPage(0);
  });
  filters.elements.stage_id.addEventListener('change', () => {
    fillNominations();
    updateExports();
  });
  tbody.addEventListener('selection', updateSelection);
  byTestId('select-all').addEventListener('change', (event) => {
    for (const item of state.items) {
      if (event.target.checked) {
        state.selected.add(item.id);
      } else {
        state.selected.delete(item.id);
      }
    }
    renderPage();
  });
  for (const button of bulkButtons) {
    button.addEventListener('click', () => onBulk(button.dataset.action));
  }
  rejectDialog.addEventListener('close', onRejectClose);
  byTestId('previous-page').addEventListener('click', () => {
    loadPage(Math.max(0, state.offset - PAGE_SIZE));
  });
  byTestId('next-page').addEventListener('click', () => loadPage(state.nextOffset));
  byTestId('close-detail').addEventListener('click', () => {
    detail.hidden = true;
  });
  initParticipantInvite(showFailure);
  onLanguageChange(renderPage);
}

async function openWorkspace() {
  const me = await fetchMe();
  if (me.person.role !== 'organiser') {
    document.getElementById('not-allowed').hidden = false;
    return;
  }
  await loadStructure();
  updateExports();
  document.getElementById('workspace').hidden = false;
  await loadPage(0);
}

function showSignIn() {
  const form = document.getElementById('sign-in');
  form.hidden = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError();
    try {
      await signIn(form.elements.login.value, form.elements.password.value);
      form.hidden = true;
      await openWorkspace();
    } catch (error) {
      showError(error.status === 401 ? 'applications.wrong_password' : 'applications.unreachable');
    }
  });
}

async function start() {
  initLanguage();
  initErrorBanner();
  wireWorkspace();
  try {
    await openWorkspace();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      showSignIn();
    } else {
      showFailure(error);
    }
  } finally {
    document.getElementById('loading').hidden = true;
  }
}

start();
