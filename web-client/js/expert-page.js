// expert.html: joins on load and shows every participant of the room in a grid, with a
// talk button on each participant's tile. Organisers also get a bar to publish their own
// camera and screen.

import { clearError, initErrorBanner, showError } from './error-banner.js';
import { describeError } from './errors.js';
import { initLanguage, setText } from './i18n.js';
import { PhoneCameraNotes } from './phone-camera-notes.js';
import { PublishBar } from './publish-bar.js';
import { Session } from './session.js';
import { renderStatus } from './status-line.js';
import { TalkMedia } from './talk.js';
import { TalkControl } from './talk-control.js';
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
  talkNoCamera: byTestId('talk-no-camera'),
};

const token = await tokenForPage();
let session = null;
let talk = null;

// Rejections of a talk request: the microphone published for it stops again.
const TALK_REJECTIONS = new Set(['talk_busy', 'unknown_peer', 'forbidden', 'not_talking']);

const showSoundButton = () => {
  ui.enableSound.hidden = false;
};
const grid = new TileGrid(document.getElementById('grid'), {
  include: (peer) =>
    peer.role === 'participant' || (peer.role === 'organiser' && peer.tracks.size > 0),
  onAutoplayBlocked: showSoundButton,
  onTalk: (identity, start) => toggleTalk(identity, start),
});
// NOTE: this page plays the talk audio of every talk but shows no talk video.
const talkMedia = new TalkMedia(showSoundButton);
const phoneCameraNotes = new PhoneCameraNotes(document.getElementById('grid'));
const publishBar = new PublishBar(document.getElementById('publish-bar'));

async function toggleTalk(identity, start) {
  try {
    await (start ? talk?.start(identity) : talk?.stop());
  } catch (error) {
    await talk?.release();
    const { key, vars } = describeError(error);
    showError(key, vars);
  }
  showTalkCamera();
}

// Tells a talker without a camera that the participant only hears them.
function showTalkCamera() {
  ui.talkNoCamera.hidden = !talk?.participant || !talk.cameraError;
}

// Stops the devices of a talk that the server ended or rejected.
function releaseTalk() {
  talk
    ?.release()
    .catch(() => {})
    .finally(showTalkCamera);
}

// The server ends a talk by itself when the participant leaves.
function onTalkChange({ participant, talk: current }) {
  if (current === null && talk?.participant === participant) {
    releaseTalk();
  }
}

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
    const { error } = event.detail;
    if (TALK_REJECTIONS.has(error.code)) {
      releaseTalk();
    }
    const { key, vars } = describeError(error);
    showError(key, vars);
  });
  session.addEventListener('ended', () => {
    ui.enableSound.hidden = true;
    ui.talkNoCamera.hidden = true;
    updateControls();
  });
  try {
    const welcome = await session.start();
    setText(ui.room, 'expert.room', { room: welcome.room_title || welcome.room });
    talk = new TalkControl(session);
    session.talks.addEventListener('change', (event) => onTalkChange(event.detail));
    grid.bind(session);
    talkMedia.bind(session);
    phoneCameraNotes.bind(session, grid);
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
    talkMedia.resume();
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
