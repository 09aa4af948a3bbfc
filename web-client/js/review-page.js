// review.html#token=...: the recordings of a room for its experts and organisers. Without
// `recording=` in the fragment it lists the recordings and what is being recorded now. With
// `&recording=<id>` it plays that recording.

import { initLanguage, onLanguageChange, setText } from './i18n.js';
import { renderRecordingList } from './recording-list.js';
import { LivePanel } from './recording-live.js';
import { RecordingView } from './recording-view.js';
import { RecordingsApi, roomOfToken } from './recordings-api.js';
import { tokenFromFragment } from './token.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

const ui = {
  room: byTestId('room'),
  noToken: byTestId('no-token'),
  listView: document.getElementById('list-view'),
  recordingView: document.getElementById('recording-view'),
  recordingContainer: document.getElementById('recording-container'),
  back: byTestId('back-to-list'),
  listLoading: byTestId('list-loading'),
  listError: byTestId('list-error'),
  listErrorText: byTestId('list-error-text'),
  retryList: byTestId('retry-list'),
  listEmpty: byTestId('list-empty'),
  table: byTestId('recordings'),
};

const ERROR_KEYS = {
  unauthorized: 'review.unauthorized',
  forbidden: 'review.forbidden',
  not_found: 'review.room_not_found',
};

const page = {
  token: null,
  room: null,
  api: null,
  live: null,
  view: null,
  list: { phase: 'idle', error: null, recordings: [] },
};

/** Builds this page's fragment: the token and, optionally, a recording to open. */
function fragment(recordingId = null) {
  const params = new URLSearchParams({ token: page.token });
  if (recordingId !== null) {
    params.set('recording', recordingId);
  }
  return `#${params}`;
}

function recordingFromFragment() {
  return new URLSearchParams(window.location.hash.replace(/^#/, '')).get('recording');
}

function setListPhase(phase) {
  page.list.phase = phase;
  ui.listLoading.hidden = phase !== 'loading';
  ui.listError.hidden = phase !== 'error';
  ui.table.hidden = phase !== 'ready' || page.list.recordings.length === 0;
  ui.listEmpty.hidden = phase !== 'ready' || page.list.recordings.length > 0;
}

function renderList() {
  const tbody = ui.table.querySelector('tbody');
  renderRecordingList(tbody, page.list.recordings, (id) => fragment(id));
}

function showListError(error) {
  page.list.error = error?.kind ?? 'unexpected';
  setText(ui.listErrorText, ERROR_KEYS[page.list.error] ?? 'review.load_failed');
  ui.retryList.hidden = error?.retryable !== true;
  setListPhase('error');
  if (!ui.retryList.hidden) {
    ui.retryList.focus();
  }
}

async function loadList() {
  setListPhase('loading');
  try {
    page.list.recordings = await page.api.list(page.room);
    page.list.error = null;
    renderList();
    setListPhase('ready');
  } catch (error) {
    showListError(error);
  }
}

function showList() {
  page.view?.destroy();
  page.view = null;
  ui.recordingView.hidden = true;
  ui.listView.hidden = false;
  page.live.start();
  loadList();
}

function showRecording(id) {
  page.live.stop();
  ui.listView.hidden = true;
  ui.recordingView.hidden = false;
  ui.back.href = fragment();
  if (page.view?.state().recording !== id) {
    page.view?.destroy();
    page.view = new RecordingView(ui.recordingContainer, page.api, id);
    page.view.load();
  }
}

function route() {
  const token = tokenFromFragment();
  if (token !== page.token) {
    window.location.reload(); // another token may be another person, so start afresh
    return;
  }
  const id = recordingFromFragment();
  if (id === null) {
    showList();
  } else {
    showRecording(id);
  }
}

function rerender() {
  if (page.list.phase === 'ready') {
    renderList();
  }
  page.live?.render();
  page.view?.render();
}

function exposeTestHooks() {
  const player = () => page.view?.player ?? null;
  const review = Object.freeze({
    currentTime: () => player()?.currentTime ?? 0,
    seek: (seconds) => player()?.seek(seconds),
    setRate: (rate) => player()?.setRate(rate) ?? null,
    state: () => ({
      view: page.view === null ? 'list' : 'recording',
      list: { ...page.list, recordings: page.list.recordings.length },
      recording: page.view?.state() ?? null,
    }),
  });
  window.profstage = Object.freeze({ review });
}

/** Reports a missing or unreadable token in place of the page's content. */
function showTokenProblem(key) {
  setText(ui.noToken, key);
  ui.noToken.hidden = false;
}

function start() {
  // Inside the scoring page's frame, that page's header already names the participant.
  document.body.classList.toggle('embedded', window.self !== window.top);
  initLanguage();
  exposeTestHooks();
  onLanguageChange(rerender);

  page.token = tokenFromFragment();
  if (page.token === null) {
    showTokenProblem('token.missing');
    return;
  }
  page.room = roomOfToken(page.token);
  if (page.room === null) {
    showTokenProblem('review.bad_token');
    return;
  }
  setText(ui.room, 'review.room', { room: page.room });
  page.api = new RecordingsApi(page.token);
  page.live = new LivePanel(byTestId('live-panel'), page.api, page.room);
  ui.retryList.addEventListener('click', loadList);
  window.addEventListener('hashchange', route);
  route();
}

start();
