// phone.html: a phone as a participant's second camera. The page exchanges the one-time
// secret of its link (`#link=...`) for a phone camera token, opens the rear camera and
// publishes it as `camera2` of the participant. It stops for good when the camera stops,
// the page goes to the background, or the socket or the connection is lost. Scanning a
// new QR code on the participant's page starts it again.

import { describeError } from './errors.js';
import { initLanguage, setText } from './i18n.js';
import { captureErrorKey } from './media-devices.js';
import { redeemPhoneLink } from './phone-link-api.js';
import { Publisher } from './publisher.js';
import { ServerError, Signalling } from './signalling.js';
import { exposeTestHooks } from './test-hooks.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

const ui = {
  owner: byTestId('phone-owner'),
  state: byTestId('phone-state'),
  preview: byTestId('phone-preview'),
};

const REAR_CAMERA = {
  facingMode: { ideal: 'environment' },
  width: { ideal: 1280 },
  height: { ideal: 720 },
};

/** Error codes of the redeem endpoint that have their own text. */
const LINK_ERRORS = new Set(['link_not_found', 'link_expired', 'link_used', 'link_replaced']);

let phase = 'idle'; // idle, connecting, joined, ended
let signalling = null;
let publisher = null;
let track = null;

/** Shows the phone's state: `key` names the text, and `state` goes to `data-state`. */
function show(state, key, vars = {}) {
  ui.state.dataset.state = state;
  setText(ui.state, key, vars);
}

/** Reads the secret from `#link=...` and removes it from the address and the history. */
function takeSecret() {
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  const secret = params.get('link');
  history.replaceState(null, '', window.location.pathname);
  return secret;
}

async function openRearCamera() {
  const stream = await navigator.mediaDevices.getUserMedia({ video: REAR_CAMERA });
  return stream.getVideoTracks()[0];
}

async function start() {
  const secret = takeSecret();
  if (!secret) {
    show('failed', 'phone.no_link');
    return;
  }
  phase = 'connecting';
  show('connecting', 'phone.connecting');
  let access;
  try {
    access = await redeemPhoneLink(secret);
  } catch (error) {
    fail(LINK_ERRORS.has(error.code) ? `phone_link.${error.code}` : 'phone_link.failed', {
      message: error.message,
    });
    return;
  }
  setText(ui.owner, 'phone.owner', { name: access.name });
  try {
    track = await openRearCamera();
  } catch (error) {
    fail(captureErrorKey(error, 'camera'));
    return;
  }
  ui.preview.srcObject = new MediaStream([track]);
  watchCamera();
  try {
    await publish(access.token);
  } catch (error) {
    const { key, vars } = describeError(error);
    fail(key, vars);
  }
}

async function publish(token) {
  signalling = new Signalling();
  await signalling.join(token);
  phase = 'joined';
  signalling.addEventListener('message', (event) => onMessage(event.detail));
  signalling.addEventListener('close', () => stop('phone.stopped_connection'));
  publisher = new Publisher(signalling);
  publisher.addEventListener('statechange', () => {
    const state = publisher.pc.connectionState;
    if (state === 'connected') {
      show('publishing', 'phone.publishing');
    } else if (state === 'failed') {
      stop('phone.stopped_connection');
    }
  });
  await publisher.add('camera2', track);
  await publisher.negotiate();
}

function onMessage(message) {
  if (publisher?.handleMessage(message)) {
    return;
  }
  if (message.type === 'error' && message.fatal) {
    const { key, vars } = describeError(new ServerError(message));
    fail(key, vars);
  }
}

// A phone's camera stops when the page goes to the background, which the browser reports
// as `ended`, `mute` or a hidden page, depending on the phone.
function watchCamera() {
  track.addEventListener('ended', () => stop('phone.stopped_camera'));
  track.addEventListener('mute', () => stop('phone.stopped_camera'));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') {
      stop('phone.stopped_hidden');
    }
  });
  window.addEventListener('pagehide', () => stop('phone.stopped_hidden'));
}

/** Ends publishing and shows the user how to resume. */
function stop(key) {
  if (phase === 'ended') {
    return;
  }
  release();
  show('stopped', key);
}

function fail(key, vars = {}) {
  if (phase === 'ended') {
    return;
  }
  release();
  show('failed', key, vars);
}

function release() {
  phase = 'ended';
  signalling?.leave();
  publisher?.close();
  track?.stop();
  ui.preview.srcObject = null;
}

initLanguage();
exposeTestHooks(() => ({ publisher, phase }), null);
start();
