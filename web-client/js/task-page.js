// task.html?task=<id>: a participant's task. Opening the page opens the task on the server,
// which records the opening and returns the text and the deadline. The countdown runs on
// the server's clock (ServerClock), and the page closes the answer form when the server's
// deadline comes; the server rejects anything sent later in any case.

import { ApiError } from './applications-api.js';
import { clearError, initErrorBanner, showError } from './error-banner.js';
import { fieldText } from './form-errors.js';
import { currentLanguage, initLanguage, onLanguageChange, setText } from './i18n.js';
import { ServerClock, formatRemaining } from './server-clock.js';
import { renderTaskText } from './task-text.js';
import { fetchMe, fetchMyTasks, openTask, saveAnswer, taskPdfUrl, uploadFile } from './tasks-api.js';

/** How often the countdown redraws, in milliseconds. */
const TICK_MS = 250;
/** How often the page asks the server for its clock again, in milliseconds. */
const RESYNC_MS = 60_000;

const clock = new ServerClock();
let task = null;
let closed = false;

function field(testid) {
  return document.querySelector(`[data-testid="${testid}"]`);
}

function formatTime(ms) {
  return new Date(ms).toLocaleTimeString(currentLanguage(), {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZone: 'UTC',
    timeZoneName: 'short',
  });
}

function taskIdFromLocation() {
  return new URLSearchParams(window.location.search).get('task') ?? '';
}

function renderText(opened) {
  setText(field('task-title'), 'task.heading', { title: opened.title });
  document.title = opened.title;
  const text = field('task-text');
  text.hidden = opened.text === '';
  renderTaskText(text, opened.text);
  const pdf = field('task-pdf');
  pdf.hidden = !opened.has_pdf;
  if (opened.has_pdf) {
    pdf.src = taskPdfUrl(opened.id);
  }
  field('answer').value = opened.answer ?? '';
  renderUploads(opened.uploads);
}

function renderUploads(uploads) {
  const items = uploads.map((upload) => {
    const item = document.createElement('li');
    setText(item, 'task.upload_item', {
      kind: upload.kind.toUpperCase(),
      size: Math.ceil(upload.size / 1024),
      time: formatTime(upload.submitted_at),
    });
    return item;
  });
  field('uploads').replaceChildren(...items);
}

function setClosed() {
  if (closed) {
    return;
  }
  closed = true;
  field('closed').hidden = false;
  const form = field('answer-form');
  form.classList.add('is-closed');
  for (const control of form.querySelectorAll('textarea, input, button')) {
    control.disabled = true;
  }
  document.body.dataset.taskState = 'closed';
}

/** Redraws the countdown from the server clock and closes the form at the deadline. */
function tick() {
  if (!task || task.deadline === null) {
    return;
  }
  const remaining = clock.remaining(task.deadline);
  const value = field('remaining');
  value.textContent = formatRemaining(remaining);
  value.dataset.remainingMs = String(Math.round(remaining));
  if (remaining <= 0) {
    setClosed();
  }
}

function renderDeadline() {
  setText(field('deadline'), 'task.deadline', { time: formatTime(task.deadline) });
}

function showApiError(error, fallback) {
  if (error instanceof ApiError && error.code === 'time_up') {
    setClosed();
    showError('task.time_up');
  } else if (error instanceof ApiError && error.status === 422) {
    showError('task.invalid', { message: error.fields.map(fieldText).join(' ') });
  } else {
    showError(fallback);
  }
}

async function onSave(event) {
  event.preventDefault();
  clearError();
  const status = field('answer-status');
  try {
    const receipt = await saveAnswer(clock, task.id, field('answer').value);
    setText(status, 'task.answer_saved', { time: formatTime(receipt.submission.submitted_at) });
  } catch (error) {
    setText(status, 'task.answer_not_saved');
    showApiError(error, 'task.save_failed');
  }
}

async function onFiles() {
  clearError();
  const input = field('files');
  for (const file of input.files) {
    try {
      const receipt = await uploadFile(clock, task.id, file);
      task.uploads.push(receipt.submission);
    } catch (error) {
      showApiError(error, 'task.upload_failed');
      break;
    }
  }
  input.value = '';
  renderUploads(task.uploads);
}

/** Asks the server for its clock now and then, and for the task's state. */
async function resync() {
  try {
    const mine = await fetchMyTasks(clock);
    const current = mine.items.find((item) => item.id === task.id);
    if (current?.state === 'closed') {
      setClosed();
    }
  } catch {
    // The countdown keeps running on the last estimate; the next resync tries again.
  }
}

/** Returns the catalog key that explains why the task did not open. */
function openErrorKey(error) {
  if (!(error instanceof ApiError)) {
    return 'task.unreachable';
  }
  if (error.reason === 'opening_closed') {
    return 'task.opening_closed';
  }
  const keys = { 401: 'task.sign_in', 404: 'task.not_found' };
  return keys[error.status] ?? 'task.unreachable';
}

async function start() {
  initLanguage();
  initErrorBanner();
  const id = taskIdFromLocation();
  const loading = document.getElementById('loading');
  if (!id) {
    loading.hidden = true;
    showError('task.no_task');
    return;
  }
  try {
    await fetchMe();
    task = await openTask(clock, id);
  } catch (error) {
    loading.hidden = true;
    showError(openErrorKey(error));
    return;
  }
  loading.hidden = true;
  renderText(task);
  renderDeadline();
  document.getElementById('task').hidden = false;
  document.body.dataset.taskState = task.state;
  if (task.state === 'closed') {
    setClosed();
  }
  field('answer-form').addEventListener('submit', onSave);
  field('files').addEventListener('change', onFiles);
  onLanguageChange(() => {
    renderDeadline();
    renderUploads(task.uploads);
  });
  tick();
  setInterval(tick, TICK_MS);
  setInterval(resync, RESYNC_MS);
}

start();
