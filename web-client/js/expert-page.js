// expert.html: joins on load and shows every participant of the room in a grid, with a
// talk button on each participant's tile. During a talk the participant's tile shows the
// talker's camera in a corner: as received, or on the talker's own page a local view.
// Organisers also get a bar to publish their own camera and screen.

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

const { token, problem: tokenProblem } = await tokenForPage();
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
  talkView: (current, own) => talkView(current, own),
});
// Talk audio plays in hidden elements, and talk video shows in the tile talked to.
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

// Tells a talker without a camera that the participant only hears them, and shows their
// camera, once open or stopped, on the participant's tile.
function showTalkCamera() {
  ui.talkNoCamera.hidden = !talk?.participant || !talk.cameraError;
  grid.refreshTalks();
}

// Returns the camera to show in the tile talked to. The talker sees their own camera
// without a round trip through the server. A talk is audio only once its sound arrives
// without video, or when the talker's own camera failed to open.
function talkView(current, own) {
  if (own) {
    const camera = talk?.participant === current.participant ? talk.camera : null;
    return { track: camera, audioOnly: camera === null && Boolean(talk?.cameraError), self: true };
  }
  const track = talkMedia.videoOf(current.talker);
  const audioOnly = track === null && talkMedia.receives(current.talker, 'talk');
  return { track, audioOnly, self: false };
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
  if (tokenProblem !== null) {
    setText(ui.noToken, tokenProblem);
  }
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
  talkMedia.addEventListener('change', () => grid.refreshTalks());
  window.addEventListener('pagehide', () => session?.leave());

  updateControls();
  if (token !== null) {
    join();
  }
}

start();
