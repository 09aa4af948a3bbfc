// briefing.html: a briefing for participants and organisers. Everyone sees the
// organisers' camera and screen and, while someone has the floor, that participant.
// Participants raise a hand and publish camera and microphone only while they have the
// floor; organisers publish, give and take the floor, and read attendance.

import { AttendancePanel } from './attendance-panel.js';
import { ChatPanel } from './chat-panel.js';
import { clearError, initErrorBanner, showError } from './error-banner.js';
import { describeError } from './errors.js';
import { HandQueue } from './hand-queue.js';
import { initLanguage, setText } from './i18n.js';
import { captureErrorKey, openCameraAndMicrophone } from './media-devices.js';
import { PublishBar } from './publish-bar.js';
import { Session } from './session.js';
import { renderStatus } from './status-line.js';
import { exposeTestHooks } from './test-hooks.js';
import { TileGrid } from './tile-grid.js';
import { tokenForPage } from './token.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

const ui = {
  status: byTestId('status'),
  room: byTestId('room'),
  join: byTestId('join'),
  leave: byTestId('leave'),
  enableSound: byTestId('enable-sound'),
  raiseHand: byTestId('raise-hand'),
  lowerHand: byTestId('lower-hand'),
  floor: byTestId('floor-indicator'),
  selfView: byTestId('self-view'),
  participantBar: document.getElementById('participant-bar'),
  speaker: document.getElementById('speaker'),
  noToken: document.getElementById('no-token'),
};

const { token, problem: tokenProblem } = await tokenForPage();
let session = null;
let speaking = Promise.resolve(); // floor changes of this client, applied in order
let ownTracks = { camera: null, microphone: null };

const autoplay = {
  onAutoplayBlocked: () => {
    ui.enableSound.hidden = false;
  },
};
const presenters = new TileGrid(document.getElementById('presenter-grid'), {
  include: (peer) => peer.role === 'organiser' && peer.tracks.size > 0,
  ...autoplay,
});
const speakerGrid = new TileGrid(document.getElementById('speaker-grid'), {
  include: (peer) => session?.briefing?.floor?.identity === peer.identity,
  ...autoplay,
});
const publishBar = new PublishBar(document.getElementById('publish-bar'));
const chat = new ChatPanel(document.getElementById('chat'));
const hands = new HandQueue(document.getElementById('hands'));
const attendance = new AttendancePanel(document.getElementById('attendance'), token);

function updateControls() {
  const inSession = session?.phase === 'joined';
  const briefing = session?.briefing;
  const participant = inSession && session.welcome.role === 'participant';
  ui.join.hidden = inSession || token === null;
  ui.leave.hidden = !inSession;
  ui.participantBar.hidden = !participant;
  ui.raiseHand.hidden = !participant || briefing.handRaised || briefing.hasFloor;
  ui.lowerHand.hidden = !participant || !briefing.handRaised;
  ui.speaker.hidden = speakerGrid.size === 0;
  renderFloor(briefing);
  renderStatus(ui.status, session);
}

function renderFloor(briefing) {
  const floor = briefing?.floor ?? null;
  ui.floor.hidden = floor === null;
  ui.floor.dataset.identity = floor?.identity ?? '';
  if (floor === null) {
    return;
  }
  if (briefing.hasFloor) {
    setText(ui.floor, 'briefing.you_have_floor');
  } else {
    setText(ui.floor, 'briefing.has_floor', { name: floor.name });
  }
}

function showFailure(error) {
  const { key, vars } = describeError(error);
  showError(key, vars);
}

// The speaker's tracks reach participants without `track_published`, so the room entry
// that the speaker's tile reads is filled from the receiving connection.
function followSpeakerTracks(current) {
  current.subscriber.addEventListener('trackadded', ({ detail: { info } }) => {
    const peer = current.room.peers.get(info.identity);
    if (peer && !peer.tracks.has(info.track)) {
      peer.tracks.set(info.track, info);
      current.room.refresh(info.identity);
    }
  });
}

function onFloorChange({ holder, previous }) {
  const current = session;
  if (previous && previous.identity !== current.briefing.self) {
    current.room.refresh(previous.identity);
  }
  if (holder && holder.identity !== current.briefing.self) {
    current.room.admit({ identity: holder.identity, name: holder.name, role: 'participant' });
  }
  const mine = holder?.identity === current.briefing.self;
  const wasMine = previous?.identity === current.briefing.self;
  if (mine !== wasMine) {
    speaking = speaking
      .then(() => (mine ? startSpeaking(current) : stopSpeaking(current)))
      .catch((error) => {
        if (current.phase === 'joined') {
          showFailure(error);
        }
      });
  }
  updateControls();
}

async function startSpeaking(current) {
  const opened = await openCameraAndMicrophone();
  if (!opened.camera && !opened.microphone) {
    showError(captureErrorKey(opened.cameraError, 'camera'));
    return;
  }
  ownTracks = { camera: opened.camera, microphone: opened.microphone };
  ui.selfView.srcObject = opened.camera ? new MediaStream([opened.camera]) : null;
  ui.selfView.hidden = opened.camera === null;
  const publisher = current.ensurePublisher();
  for (const [source, track] of Object.entries(ownTracks)) {
    if (track) {
      await publisher.add(source, track);
    }
  }
  await publisher.negotiate();
}

async function stopSpeaking(current) {
  releaseOwnTracks();
  const publisher = current.publisher;
  if (!publisher || current.phase !== 'joined') {
    return;
  }
  await publisher.remove('camera');
  await publisher.remove('microphone');
  await publisher.negotiate();
}

function releaseOwnTracks() {
  ownTracks.camera?.stop();
  ownTracks.microphone?.stop();
  ownTracks = { camera: null, microphone: null };
  ui.selfView.srcObject = null;
  ui.selfView.hidden = true;
}

async function join() {
  clearError();
  const current = new Session(token);
  session = current;
  current.addEventListener('statechange', updateControls);
  current.addEventListener('failure', (event) => showFailure(event.detail.error));
  current.addEventListener('ended', () => {
    releaseOwnTracks();
    ui.enableSound.hidden = true;
    updateControls();
  });
  try {
    const welcome = await current.start();
    if (!current.briefing) {
      showError('briefing.not_a_briefing');
      current.leave();
      return;
    }
    setText(ui.room, 'briefing.room', { room: welcome.room_title || welcome.room });
    presenters.bind(current);
    speakerGrid.bind(current);
    followSpeakerTracks(current);
    chat.bind(current);
    current.briefing.addEventListener('hands', updateControls);
    current.briefing.addEventListener('floor', (event) => onFloorChange(event.detail));
    if (welcome.role === 'organiser') {
      publishBar.bind(current);
      hands.bind(current);
      attendance.bind(welcome.room);
    }
    if (current.briefing.floor) {
      onFloorChange({ holder: current.briefing.floor, previous: null });
    }
  } catch (error) {
    showFailure(error);
  }
  updateControls();
}

function send(message) {
  if (session?.phase === 'joined') {
    session.signalling.send(message);
  }
}

function start() {
  initLanguage();
  initErrorBanner();
  exposeTestHooks(() => session, speakerGrid);
  ui.noToken.hidden = token !== null;
  if (tokenProblem !== null) {
    setText(ui.noToken, tokenProblem);
  }

  ui.join.addEventListener('click', join);
  ui.leave.addEventListener('click', () => session?.leave());
  ui.raiseHand.addEventListener('click', () => send({ type: 'raise_hand' }));
  ui.lowerHand.addEventListener('click', () => send({ type: 'lower_hand' }));
  ui.enableSound.addEventListener('click', () => {
    presenters.resumeAudio();
    speakerGrid.resumeAudio();
    ui.enableSound.hidden = true;
  });
  speakerGrid.addEventListener('change', updateControls);
  window.addEventListener('pagehide', () => session?.leave());

  updateControls();
  if (token !== null) {
    join();
  }
}

start();
