// theory.html?test=<id>: a participant's theory test. Before the first opening the page
// takes an identity snapshot from the camera and sends it. Once the test has started,
// «Start» opens it on the server, which draws the questions and starts the time limit.
// Each answer saves when it changes. The countdown runs on the server's clock (ServerClock)
// and the form closes at the server's deadline; the server rejects later answers anyway.

import { ApiError } from './applications-api.js';
import { clearError, initErrorBanner, showError } from './error-banner.js';
import { initLanguage, onLanguageChange, setText } from './i18n.js';
import { startCamera, stopCamera, takeSnapshot } from './identity-snapshot.js';
import { ServerClock, formatRemaining } from './server-clock.js';
import { renderTaskText } from './task-text.js';
import { fetchMe, fetchMyTasks } from './tasks-api.js';
import { fetchIntro, finishTest, openTest, saveAnswer, sendSnapshot } from './theory-api.js';
import { formatTime } from './time-format.js';

/** How often the countdown redraws, in milliseconds. */
const TICK_MS = 250;
/** How often the page requests the server clock again, in milliseconds. */
const RESYNC_MS = 60_000;
/** How long typing pauses before a short answer saves, in milliseconds. */
const TYPING_PAUSE_MS = 800;

const clock = new ServerClock();
const testId = new URLSearchParams(window.location.search).get('test') ?? '';
let intro = null;
let test = null;
let closed = false;
let camera = null;
let snapshot = null;

const field = (testid) => document.querySelector(`[data-testid="${testid}"]`);

function renderIntro() {
  setText(field('test-title'), 'theory.heading', { title: intro.title });
  setText(field('starts-at'), 'theory.starts_at', { time: formatTime(intro.starts_at) });
  setText(field('limit'), `theory.limit_${intro.limit_mode}`, {
    minutes: Math.ceil(intro.time_limit_secs / 60),
  });
  const check = intro.check;
  const status = field('identity-status');
  status.dataset.status = check?.status ?? 'none';
  if (check === null) {
    setText(status, 'theory.identity_none');
  } else if (check.status === 'rejected') {
    setText(status, 'theory.identity_rejected', { reason: check.reason ?? '' });
  } else {
    setText(status, `theory.identity_${check.status}`);
  }
  const needsSnapshot = check === null || check.status === 'rejected';
  field('camera-on').hidden = !needsSnapshot || camera !== null;
  tickStart();
}

/** Enables «Start» once the test has started and the snapshot is not rejected. */
function tickStart() {
  if (intro === null || test !== null) {
    return;
  }
  const ready = intro.check !== null && intro.check.status !== 'rejected';
  const wait = Math.max(0, intro.starts_at - clock.now());
  field('start-test').disabled = !ready || wait > 0;
  if (wait > 0) {
    setText(field('start-wait'), 'theory.starts_in', { time: formatRemaining(wait) });
  } else {
    field('start-wait').textContent = '';
  }
}

async function onCameraOn() {
  clearError();
  try {
    camera = await startCamera(field('camera'));
  } catch {
    showError('theory.camera_failed');
    return;
  }
  field('camera').hidden = false;
  field('camera-on').hidden = true;
  field('take-snapshot').hidden = false;
}

async function onTakeSnapshot() {
  snapshot = await takeSnapshot(field('camera'), field('snapshot-canvas'));
  const preview = field('snapshot-preview');
  URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(snapshot);
  preview.hidden = false;
  field('send-snapshot').hidden = false;
}

async function onSendSnapshot() {
  clearError();
  try {
    const check = await sendSnapshot(clock, testId, snapshot);
    intro.check = check;
  } catch (error) {
    showApiError(error, 'theory.snapshot_failed');
    return;
  }
  stopCamera(camera);
  camera = null;
  for (const id of ['camera', 'take-snapshot', 'send-snapshot']) {
    field(id).hidden = true;
  }
  renderIntro();
}

function showApiError(error, fallback) {
  if (error instanceof ApiError && error.code === 'time_up') {
    setClosed('theory.closed');
    showError('theory.time_up');
  } else if (error instanceof ApiError && [409, 422].includes(error.status)) {
    showError('theory.rejected', { message: error.message });
  } else {
    showError(fallback);
  }
}

function optionInput(question, option) {
  const input = document.createElement('input');
  input.type = question.kind === 'single' ? 'radio' : 'checkbox';
  input.name = `q-${question.id}`;
  input.value = String(option.number);
  input.dataset.testid = 'option';
  input.checked = question.answer?.selected?.includes(option.number) ?? false;
  const label = document.createElement('label');
  label.className = 'theory-option';
  const text = document.createElement('span');
  text.textContent = option.text;
  label.append(input, ' ', text);
  return label;
}

function renderQuestion(question) {
  const item = document.createElement('li');
  item.className = 'theory-question';
  item.dataset.testid = 'question';
  item.dataset.id = question.id;
  item.dataset.kind = question.kind;
  const text = document.createElement('p');
  text.className = 'theory-question-text';
  text.textContent = question.text;
  const points = document.createElement('span');
  points.className = 'muted';
  setText(points, 'theory.points', { points: question.points });
  item.append(text, points);
  if (question.kind === 'short') {
    const input = document.createElement('input');
    input.type = 'text';
    input.maxLength = 1000;
    input.dataset.testid = 'short-answer';
    input.value = question.answer?.text ?? '';
    let timer = null;
    input.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => save(question, { text: input.value }), TYPING_PAUSE_MS);
    });
    input.addEventListener('change', () => {
      clearTimeout(timer);
      save(question, { text: input.value });
    });
    item.append(input);
  } else {
    const options = question.options.map((option) => optionInput(question, option));
    item.append(...options);
    item.addEventListener('change', () => {
      const checked = item.querySelectorAll('input:checked');
      save(question, { selected: [...checked].map((input) => Number(input.value)) });
    });
  }
  return item;
}

async function save(question, answer) {
  if (closed) {
    return;
  }
  clearError();
  const status = field('save-status');
  try {
    const receipt = await saveAnswer(clock, testId, question.id, answer);
    setText(status, 'theory.saved', { time: formatTime(receipt.saved.saved_at) });
    status.dataset.saved = String(Number(status.dataset.saved ?? '0') + 1);
  } catch (error) {
    setText(status, 'theory.not_saved');
    showApiError(error, 'theory.save_failed');
  }
}

function setClosed(key) {
  if (closed) {
    return;
  }
  closed = true;
  field('closed').hidden = false;
  setText(field('closed-text'), key);
  for (const control of field('questions-form').querySelectorAll('input, button')) {
    control.disabled = true;
  }
  document.body.dataset.testState = 'closed';
}

function tick() {
  tickStart();
  if (test === null || test.deadline === null) {
    return;
  }
  const remaining = clock.remaining(test.deadline);
  const value = field('remaining');
  value.textContent = formatRemaining(remaining);
  value.dataset.remainingMs = String(Math.round(remaining));
  if (remaining <= 0) {
    setClosed('theory.closed');
  }
}

function renderDeadline() {
  if (test !== null) {
    setText(field('deadline'), 'task.deadline', { time: formatTime(test.deadline) });
  }
}

function showTest(opened) {
  test = opened;
  field('intro').hidden = true;
  document.getElementById('test').hidden = false;
  const instructions = field('instructions');
  instructions.hidden = opened.text === '';
  renderTaskText(instructions, opened.text);
  field('questions').replaceChildren(...opened.questions.map(renderQuestion));
  renderDeadline();
  document.body.dataset.testState = opened.state;
  if (opened.finished_at !== null) {
    setClosed('theory.finished');
  } else if (opened.state === 'closed') {
    setClosed('theory.closed');
  }
  tick();
}

async function onStart() {
  clearError();
  try {
    showTest(await openTest(clock, testId));
  } catch (error) {
    showApiError(error, 'theory.open_failed');
  }
}

async function onFinish(event) {
  event.preventDefault();
  clearError();
  try {
    await finishTest(clock, testId);
    setClosed('theory.finished');
  } catch (error) {
    showApiError(error, 'theory.save_failed');
  }
}

async function resync() {
  try {
    const mine = await fetchMyTasks(clock);
    const current = mine.items.find((item) => item.id === testId);
    if (test !== null && current?.state === 'closed') {
      setClosed('theory.closed');
    }
  } catch {
    // The countdown keeps running on the last estimate; the next resync tries again.
  }
}

async function start() {
  initLanguage();
  initErrorBanner();
  const loading = document.getElementById('loading');
  if (!testId) {
    loading.hidden = true;
    showError('theory.no_test');
    return;
  }
  let mine;
  try {
    await fetchMe();
    intro = await fetchIntro(clock, testId);
    mine = await fetchMyTasks(clock);
  } catch (error) {
    loading.hidden = true;
    const key =
      error instanceof ApiError && error.status === 401
        ? 'task.sign_in'
        : error instanceof ApiError && error.status === 404
          ? 'theory.not_found'
          : 'task.unreachable';
    showError(key);
    return;
  }
  loading.hidden = true;
  const started = mine.items.find((item) => item.id === testId);
  if (started && started.state !== 'not_opened') {
    // A reload after the first opening: show the attempt again.
    await onStart();
  } else {
    field('intro').hidden = false;
    renderIntro();
  }
  field('camera-on').addEventListener('click', onCameraOn);
  field('take-snapshot').addEventListener('click', onTakeSnapshot);
  field('send-snapshot').addEventListener('click', onSendSnapshot);
  field('start-test').addEventListener('click', onStart);
  field('questions-form').addEventListener('submit', onFinish);
  onLanguageChange(() => {
    if (test === null) {
      renderIntro();
    }
    renderDeadline();
  });
  setInterval(tick, TICK_MS);
  setInterval(resync, RESYNC_MS);
}

start();
