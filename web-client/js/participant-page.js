// participant.html: device check, then joining, publishing camera, microphone and an
// optional second camera, from this computer or from a phone, and sharing the screen.
// Organisers' video, when they publish, appears below, and an expert who talks to the
// participant is named, seen and heard.

import { DeviceCheck } from './device-check.js';
import { clearError, initErrorBanner, showError } from './error-banner.js';
import { describeError, describeScreenError } from './errors.js';
import { initLanguage, setText } from './i18n.js';
import { PhoneLink } from './phone-link.js';
import { ScreenShare } from './screen-share.js';
import { SecondCamera } from './second-camera.js';
import { Session } from './session.js';
import { renderStatus } from './status-line.js';
import { TalkMedia, isTalkSource } from './talk.js';
import { exposeTestHooks } from './test-hooks.js';
import { TileGrid } from './tile-grid.js';
import { tokenForPage } from './token.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

const ui = {
  status: byTestId('status'),
  join: byTestId('join'),
  shareScreen: byTestId('share-screen'),
  stopSharing: byTestId('stop-sharing'),
  leave: byTestId('leave'),
  enableSound: byTestId('enable-sound'),
  screenPreview: byTestId('screen-preview'),
  screenPreviewBox: document.getElementById('screen-preview-box'),
  noToken: document.getElementById('no-token'),
  organisers: document.getElementById('organisers'),
  talkNotice: byTestId('talk-notice'),
  talkMedia: byTestId('talk-media'),
  talkVideo: byTestId('talk-video'),
  talkAudioOnly: byTestId('talk-audio-only'),
};

const { token, problem: tokenProblem } = await tokenForPage();
let session = null;
let screenShare = null;
let publishing = false;
let busy = false;

const reportError = (key, vars) => showError(key, vars);
const devices = new DeviceCheck(
  {
    preview: byTestId('preview'),
    cameraSelect: document.getElementById('camera-select'),
    microphoneSelect: document.getElementById('microphone-select'),
    meter: document.getElementById('microphone-level'),
  },
  reportError,
);

const secondCamera = new SecondCamera(
  {
    select: byTestId('camera2-select'),
    preview: byTestId('camera2-preview'),
    previewBox: document.getElementById('camera2-preview-box'),
  },
  reportError,
);

const phoneLink = new PhoneLink(
  {
    open: byTestId('phone-link-open'),
    panel: byTestId('phone-link-panel'),
    qr: byTestId('phone-link-qr'),
    link: byTestId('phone-link-url'),
    state: byTestId('phone-camera-state'),
  },
  token,
  (error) => {
    if (error.code === 'too_many_links') {
      showError('phone_link.too_many_links');
    } else {
      showError('phone_link.request_failed', { message: error.message });
    }
  },
);

const showSoundButton = () => {
  ui.enableSound.hidden = false;
};
const grid = new TileGrid(document.getElementById('organiser-grid'), {
  include: showsOrganiser,
  onAutoplayBlocked: showSoundButton,
});
const talkMedia = new TalkMedia(showSoundButton, ui.talkVideo);

// An organiser's talk audio and video play with the talk notice, so an organiser gets a
// tile only for tracks that reach every participant.
function showsOrganiser(peer) {
  const tracks = [...peer.tracks.values()];
  return peer.role === 'organiser' && tracks.some((info) => !isTalkSource(info.source));
}

function joined() {
  return session?.phase === 'joined';
}

function updateControls() {
  const inSession = session !== null && session.phase !== 'ended';
  ui.join.hidden = inSession;
  ui.join.disabled = busy || token === null || !devices.ready;
  ui.leave.hidden = !inSession;
  ui.shareScreen.hidden = !joined() || screenShare?.active === true;
  ui.shareScreen.disabled = busy || !publishing;
  ui.stopSharing.hidden = !joined() || screenShare?.active !== true;
  ui.stopSharing.disabled = busy;
  ui.screenPreviewBox.hidden = screenShare?.active !== true;
  renderStatus(ui.status, session);
}

function showFailure(error, describe = describeError) {
  const { key, vars } = describe(error);
  showError(key, vars);
}

// Runs one user action with the controls locked, and shows what went wrong. Once the
// session has ended, its `failure` event has already explained why.
async function act(action, describe = describeError) {
  busy = true;
  updateControls();
  try {
    await action();
  } catch (error) {
    if (session?.phase !== 'ended') {
      showFailure(error, describe);
    }
  } finally {
    busy = false;
    updateControls();
  }
}

async function join() {
  clearError();
  publishing = false;
  session = new Session(token);
  session.addEventListener('statechange', updateControls);
  session.addEventListener('failure', (event) => showFailure(event.detail.error));
  session.addEventListener('ended', onSessionEnded);
  try {
    await session.start();
  } catch (error) {
    showFailure(error); // the server rejected the join, or could not be reached
    return;
  }
  grid.bind(session);
  talkMedia.bind(session);
  phoneLink.bind(session);
  session.addEventListener('phonecamera', ({ detail }) => {
    if (detail.identity === session.room.self) {
      secondCamera.lock(detail.state !== 'stopped');
    }
  });
  session.talks.addEventListener('change', showTalk);
  showTalk();
  await publishDevices();
}

// Names the expert who talks to this participant and shows their video, or a note that the
// talk is audio only once their sound arrives without video.
function showTalk() {
  const talk = session?.talks.to(session.room.self) ?? null;
  ui.talkNotice.hidden = talk === null;
  const video = talk !== null && talkMedia.receives(talk.talker, 'talk_video');
  const audio = talk !== null && talkMedia.receives(talk.talker, 'talk');
  ui.talkMedia.hidden = !video && !audio;
  ui.talkVideo.hidden = !video;
  ui.talkAudioOnly.hidden = video || !audio;
  if (talk) {
    setText(ui.talkNotice, 'participant.talking', { name: talk.name });
    setText(ui.talkAudioOnly, 'participant.talk_audio_only', { name: talk.name });
  }
}

async function publishDevices() {
  const publisher = session.ensurePublisher();
  if (devices.camera) {
    await publisher.add('camera', devices.camera);
  }
  if (devices.microphone) {
    await publisher.add('microphone', devices.microphone);
  }
  if (secondCamera.track) {
    await publisher.add('camera2', secondCamera.track);
  }
  await publisher.negotiate();
  publishing = true;
}

// A device switched in the device check replaces the published one.
async function onDeviceChanged({ source, track }) {
  const publisher = session?.publisher;
  if (!joined() || !publisher) {
    return;
  }
  if (!track && source === 'camera2' && publisher.isSending(source)) {
    await publisher.remove(source); // turned off: a gap in the recording
    await publisher.negotiate();
    return;
  }
  if (!track) {
    return;
  }
  if (publisher.isSending(source)) {
    await publisher.replaceTrack(source, track);
  } else {
    await publisher.add(source, track);
    await publisher.negotiate();
  }
}

async function shareScreen() {
  screenShare = new ScreenShare(session.publisher);
  screenShare.addEventListener('ended', () => act(stopSharing));
  try {
    await screenShare.start();
  } finally {
    ui.screenPreview.srcObject = screenShare.stream;
  }
}

async function stopSharing() {
  ui.screenPreview.srcObject = null;
  await screenShare?.stop();
}

function onSessionEnded() {
  phoneLink.bind(null);
  secondCamera.lock(false);
  screenShare?.release();
  ui.screenPreview.srcObject = null;
  publishing = false;
  ui.enableSound.hidden = true;
  ui.talkNotice.hidden = true;
  ui.talkMedia.hidden = true;
  updateControls();
}

function leave() {
  session?.leave();
}

function start() {
  initLanguage();
  initErrorBanner();
  exposeTestHooks(() => session, grid);
  ui.noToken.hidden = token !== null;
  if (tokenProblem !== null) {
    setText(ui.noToken, tokenProblem);
  }

  ui.join.addEventListener('click', () => act(join));
  ui.shareScreen.addEventListener('click', () => act(shareScreen, describeScreenError));
  ui.stopSharing.addEventListener('click', () => act(stopSharing));
  ui.leave.addEventListener('click', leave);
  ui.enableSound.addEventListener('click', () => {
    grid.resumeAudio();
    talkMedia.resume();
    ui.enableSound.hidden = true;
  });
  grid.addEventListener('change', () => {
    ui.organisers.hidden = grid.size === 0;
  });
  devices.addEventListener('trackchange', (event) => {
    onDeviceChanged(event.detail).catch((error) => showFailure(error));
  });
  secondCamera.addEventListener('trackchange', (event) => {
    onDeviceChanged(event.detail).catch((error) => showFailure(error));
  });
  talkMedia.addEventListener('change', showTalk);
  window.addEventListener('pagehide', leave);

  updateControls();
  devices
    .start()
    .then(() => secondCamera.fill())
    .finally(updateControls);
}

start();
