// me.html: the signed-in person's page. It shows who they are and, for a participant who
// applied, their application's number, nomination, stage and status. It lists the briefings
// they may join, with links into briefing.html, and a participant's started tasks and theory
// tests, with links into task.html and theory.html. Everyone sees the rooms they are
// assigned to, with links into the live page for their role.

import { currentSession, get, remove } from './contest-api.js';
import { showError, initErrorBanner } from './error-banner.js';
import { errorText } from './form-errors.js';
import { initLanguage, onLanguageChange, setText, t } from './i18n.js';
import { formatTime } from './time-format.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);
let shown = null; // {me, application, briefings, tasks, rooms, tests}, kept for a language change

/** Returns the live page for a room: briefings have their own; others follow the role. */
function roomPage(room, role) {
  if (room.stage_part_id === null) {
    return 'briefing.html';
  }
  return role === 'participant' ? 'participant.html' : 'expert.html';
}

function roomLink(page, roomId, testId) {
  const link = document.createElement('a');
  link.className = 'button primary';
  link.href = `${page}#room=${encodeURIComponent(roomId)}`;
  link.dataset.testid = testId;
  return link;
}

function renderBriefing(briefing) {
  const item = document.createElement('li');
  item.className = 'item';
  item.dataset.testid = 'my-briefing';
  item.dataset.id = briefing.id;
  const title = document.createElement('strong');
  title.textContent = briefing.title;
  const time = document.createElement('span');
  time.className = 'muted';
  time.textContent = formatTime(briefing.starts_at);
  const agenda = document.createElement('p');
  agenda.className = 'agenda';
  agenda.textContent = briefing.agenda;
  const join = roomLink('briefing.html', briefing.room_id, 'join-briefing');
  join.textContent = t('me.join_briefing');
  item.append(title, ' ', time, agenda, join);
  return item;
}

/** Returns the catalog key and values that describe a task's state for its participant. */
function taskState(task) {
  if (task.state === 'closed') {
    // Closed without a deadline: the participant did not open it by its opens_until.
    return task.deadline === null
      ? ['me.task_opening_closed', {}]
      : ['me.task_closed', { time: formatTime(task.deadline) }];
  }
  if (task.deadline !== null) {
    const key = task.state === 'open' ? 'me.task_open' : 'me.task_not_opened';
    return [key, { time: formatTime(task.deadline) }];
  }
  // The limit runs from the first opening, which has not happened yet.
  const minutes = Math.round(task.time_limit_secs / 60);
  if (task.opens_until !== null) {
    return ['me.task_opens_until', { minutes, time: formatTime(task.opens_until) }];
  }
  return ['me.task_limit', { minutes }];
}

function renderTask(task) {
  const item = document.createElement('li');
  item.className = 'item';
  item.dataset.testid = 'my-task';
  item.dataset.id = task.id;
  const title = document.createElement('strong');
  title.textContent = task.title;
  const state = document.createElement('span');
  state.className = 'muted';
  state.dataset.testid = 'my-task-state';
  const [key, values] = taskState(task);
  setText(state, key, values);
  item.append(title, ' ', state);
  if (task.state !== 'closed') {
    const open = document.createElement('a');
    open.className = 'button primary';
    open.href = `task.html?task=${encodeURIComponent(task.id)}`;
    open.dataset.testid = 'open-task';
    open.textContent = t('me.open_task');
    item.append(' ', open);
  }
  return item;
}

function renderRoom(room, role) {
  const item = document.createElement('li');
  item.className = 'item';
  item.dataset.testid = 'my-room';
  const title = document.createElement('strong');
  title.textContent = room.title;
  const open = roomLink(roomPage(room, role), room.id, 'open-room');
  open.textContent = t('me.open_room');
  item.append(title, ' ', open);
  return item;
}

function renderTheoryTest(test) {
  const item = document.createElement('li');
  item.className = 'item';
  item.dataset.testid = 'my-theory-test';
  const title = document.createElement('strong');
  title.textContent = test.title;
  const time = document.createElement('span');
  time.className = 'muted';
  time.textContent = formatTime(test.starts_at);
  const open = document.createElement('a');
  open.className = 'button primary';
  open.href = `theory.html?test=${encodeURIComponent(test.task_id)}`;
  open.dataset.testid = 'open-theory-test';
  open.textContent = t('me.open_theory_test');
  item.append(title, ' ', time, ' ', open);
  return item;
}

/** Fills the application's facts, or hides them for people who did not apply. */
function renderApplication(application) {
  byTestId('my-application').hidden = application === null;
  if (application === null) {
    return;
  }
  byTestId('application-number').textContent = application.number ?? '—';
  byTestId('application-nomination').textContent = application.profession;
  byTestId('application-stage').textContent = `${application.contest_name} — ${application.region}`;
  setText(byTestId('application-status'), `application.status.${application.status}`);
}

function render() {
  if (shown === null) {
    return;
  }
  const { me, application, briefings, tasks, rooms, tests } = shown;
  const role = me.person.role;
  byTestId('me-name').textContent = me.person.full_name;
  setText(byTestId('me-role'), `role.${role}`);
  renderApplication(application);
  setText(byTestId('me-session'), 'me.session_until', { time: formatTime(me.expires_at) });
  byTestId('my-briefings').replaceChildren(...briefings.map(renderBriefing));
  byTestId('no-briefings').hidden = briefings.length > 0;
  byTestId('my-tasks').replaceChildren(...tasks.map(renderTask));
  byTestId('no-tasks').hidden = tasks.length > 0;
  document.getElementById('tasks').hidden = role !== 'participant';
  byTestId('my-rooms').replaceChildren(...rooms.map((room) => renderRoom(room, role)));
  byTestId('no-rooms').hidden = rooms.length > 0;
  byTestId('my-theory-tests').replaceChildren(...tests.map(renderTheoryTest));
  document.getElementById('theory-tests').hidden = tests.length === 0;
  byTestId('console-link').hidden = role !== 'organiser';
  byTestId('scoring-link').hidden = role !== 'expert';
  byTestId('protocols-link').hidden = role !== 'commission_member';
  for (const id of ['status', 'briefings', 'rooms']) {
    document.getElementById(id).hidden = false;
  }
  byTestId('sign-out').hidden = false;
}

async function load() {
  try {
    const me = await currentSession();
    if (me === null) {
      document.getElementById('signed-out').hidden = false;
      return;
    }
    // Only participants take tasks and tests, and the server rejects anyone else with 403.
    // Theory tests are tasks too, listed in their own section.
    const participant = me.person.role === 'participant';
    const [application, briefings, rooms, taskList, tests] = await Promise.all([
      get('/me/application'),
      get('/me/briefings'),
      get('/me/rooms'),
      participant ? get('/me/tasks').then((reply) => reply.items) : [],
      participant ? get('/me/theory-tests').then((reply) => reply.items) : [],
    ]);
    const tasks = taskList.filter((task) => task.kind === 'text');
    shown = { me, application, briefings, tasks, rooms, tests };
    render();
  } catch (error) {
    showError('me.load_failed', { reason: errorText(error) });
  }
}

async function signOut() {
  try {
    await remove('/session');
    window.location.assign('signin.html');
  } catch (error) {
    showError('me.load_failed', { reason: errorText(error) });
  }
}

initLanguage();
initErrorBanner();
onLanguageChange(render);
byTestId('sign-out').addEventListener('click', signOut);
load();
