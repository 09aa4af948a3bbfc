// me.html: the signed-in person's page. It shows who they are and, for a participant who
// applied, their application's number, nomination, stage and status; the briefings they
// may join, with links into briefing.html; and the rooms they are assigned to, with links
// into the live page for their role.

import { currentSession, get, remove } from './contest-api.js';
import { showError, initErrorBanner } from './error-banner.js';
import { errorText } from './form-errors.js';
import { initLanguage, onLanguageChange, setText, t } from './i18n.js';
import { formatTime } from './time-format.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);
let shown = null; // {me, application, briefings, rooms}, kept to render again in another language

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
  const { me, application, briefings, rooms } = shown;
  const role = me.person.role;
  byTestId('me-name').textContent = me.person.full_name;
  setText(byTestId('me-role'), `role.${role}`);
  renderApplication(application);
  setText(byTestId('me-session'), 'me.session_until', { time: formatTime(me.expires_at) });
  byTestId('my-briefings').replaceChildren(...briefings.map(renderBriefing));
  byTestId('no-briefings').hidden = briefings.length > 0;
  byTestId('my-rooms').replaceChildren(...rooms.map((room) => renderRoom(room, role)));
  byTestId('no-rooms').hidden = rooms.length > 0;
  byTestId('console-link').hidden = role !== 'organiser';
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
    const [application, briefings, rooms] = await Promise.all([
      get('/me/application'),
      get('/me/briefings'),
      get('/me/rooms'),
    ]);
    shown = { me, application, briefings, rooms };
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
