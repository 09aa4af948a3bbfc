// expert.html: joins on load and shows every participant of the room in a grid.
// Organisers also get a bar to publish their own camera and screen.

import { clearError, initErrorBanner, showError } from './error-banner.js';
import { describeError } from './errors.js';
import { initLanguage, setText } from './i18n.js';
import { PublishBar } from './publish-bar.js';
import { Session } from './session.js';
import { renderStatus } from './status-line.js';
import { exposeTestHooks } from './test-hooks.js';
import { TileGrid } from './tile-grid.js';
import { pageLink, tokenForPage } from './token.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

const ui = {
  status: byTestId('status'),
  join: byTestId('join'),
  leave: byTestId('leave'),
  enableSound: byTestId('enable-sound'),
  room: byTestId('room'),
  recordings: byTestId('recordings-link'),
  empty: document.getElementById('empty'),
  noToken: document.getElementById('no-token'),
};

const token = await tokenForPage();
let session = null;

const grid = new TileGrid(document.getElementById('grid'), {
  include: (peer) =>
    peer.role === 'participant' || (peer.role === 'organiser' && peer.tracks.size > 0),
  onAutoplayBlocked: () => {
    ui.enableSound.hidden = false;
  },
});
const publishBar = new PublishBar(document.getElementById('publish-bar'));

function updateControls() {
  const inSession = session !== null && session.phase !== 'ended';
  ui.join.hidden = inSession || token === null;
  ui.leave.hidden = !inSession;
  ui.empty.hidden = grid.size > 0 || session?.phase !== 'joined';
  renderStatus(ui.status, session);
}

async function join() {
  clearError();
  session = new Session(token);
  session.addEventListener('statechange', updateControls);
  session.addEventListener('failure', (event) => {
    const { key, vars } = describeError(event.detail.error);
    showError(key, vars);
  });
  session.addEventListener('ended', () => {
    ui.enableSound.hidden = true;
    updateControls();
  });
  try {
    const welcome = await session.start();
    setText(ui.room, 'expert.room', { room: welcome.room_title || welcome.room });
    grid.bind(session);
    if (welcome.role === 'organiser') {
      publishBar.bind(session);
    }
  } catch (error) {
    const { key, vars } = describeError(error);
    showError(key, vars);
  }
  updateControls();
}

function start() {
  initLanguage();
  initErrorBanner();
  exposeTestHooks(() => session, grid);
  ui.noToken.hidden = token !== null;
  if (token !== null) {
    ui.recordings.href = pageLink('review.html', token);
    ui.recordings.hidden = false;
  }

  ui.join.addEventListener('click', join);
  ui.leave.addEventListener('click', () => session?.leave());
  ui.enableSound.addEventListener('click', () => {
    grid.resumeAudio();
    ui.enableSound.hidden = true;
  });
  grid.addEventListener('change', updateControls);
  window.addEventListener('pagehide', () => session?.leave());

  updateControls();
  if (token !== null) {
    join();
  }
}

start();
