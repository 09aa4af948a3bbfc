// Camera, microphone and screen capture, and the messages for capture errors.

const CAMERA_CONSTRAINTS = {
  width: { ideal: 1280 },
  height: { ideal: 720 },
  frameRate: { ideal: 30 },
};

// Up to 1080p: sharp enough for text. A shared screen changes little from frame to frame,
// so 15 frames per second is plenty, and the encoder may go down to 5 under load.
const SCREEN_CONSTRAINTS = {
  width: { max: 1920 },
  height: { max: 1080 },
  frameRate: { ideal: 15, max: 15 },
};

/** Raised when the page is not a secure context, so `navigator.mediaDevices` is absent. */
class InsecureContextError extends Error {
  constructor() {
    super('media devices need HTTPS or localhost');
    this.name = 'InsecureContextError';
  }
}

function mediaDevices() {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new InsecureContextError();
  }
  return navigator.mediaDevices;
}

function cameraConstraints(deviceId) {
  return deviceId ? { ...CAMERA_CONSTRAINTS, deviceId: { exact: deviceId } } : CAMERA_CONSTRAINTS;
}

function microphoneConstraints(deviceId) {
  return deviceId ? { deviceId: { exact: deviceId } } : true;
}

/** Opens the camera, or the one with `deviceId`, and returns its video track. */
export async function openCamera(deviceId) {
  const stream = await mediaDevices().getUserMedia({ video: cameraConstraints(deviceId) });
  return stream.getVideoTracks()[0];
}

/** Opens the microphone, or the one with `deviceId`, and returns its audio track. */
export async function openMicrophone(deviceId) {
  const stream = await mediaDevices().getUserMedia({ audio: microphoneConstraints(deviceId) });
  return stream.getAudioTracks()[0];
}

/**
 * Opens camera and microphone with one permission request. When that fails for a reason
 * other than a refused permission, tries each device alone so that a missing or busy
 * microphone does not also cost the camera.
 * Returns `{camera, microphone, cameraError, microphoneError}`; a failed track is null.
 */
export async function openCameraAndMicrophone() {
  try {
    const stream = await mediaDevices().getUserMedia({
      video: cameraConstraints(),
      audio: microphoneConstraints(),
    });
    return {
      camera: stream.getVideoTracks()[0] ?? null,
      microphone: stream.getAudioTracks()[0] ?? null,
      cameraError: null,
      microphoneError: null,
    };
  } catch (error) {
    if (error.name === 'NotAllowedError' || error.name === 'InsecureContextError') {
      return { camera: null, microphone: null, cameraError: error, microphoneError: error };
    }
  }
  const [camera, microphone] = await Promise.allSettled([openCamera(), openMicrophone()]);
  return {
    camera: camera.value ?? null,
    microphone: microphone.value ?? null,
    cameraError: camera.reason ?? null,
    microphoneError: microphone.reason ?? null,
  };
}

/** Asks the user for a screen, window or tab and returns its stream (video, maybe audio). */
export async function openScreen() {
  if (!navigator.mediaDevices?.getDisplayMedia) {
    throw new InsecureContextError();
  }
  const stream = await navigator.mediaDevices.getDisplayMedia({
    video: SCREEN_CONSTRAINTS,
    audio: true,
  });
  const [video] = stream.getVideoTracks();
  if (video && 'contentHint' in video) {
    // Keeps text sharp: the encoder lowers the frame rate before the resolution.
    video.contentHint = 'detail';
  }
  return stream;
}

/** Lists cameras and microphones: `{cameras, microphones}` of MediaDeviceInfo. */
export async function listDevices() {
  const devices = await mediaDevices().enumerateDevices();
  return {
    cameras: devices.filter((device) => device.kind === 'videoinput'),
    microphones: devices.filter((device) => device.kind === 'audioinput'),
  };
}

/** Calls `listener` when a device is plugged in or removed. */
export function onDeviceChange(listener) {
  navigator.mediaDevices?.addEventListener('devicechange', listener);
}

/** Names the i18n key that explains a capture error of the `device` kind. */
export function captureErrorKey(error, device) {
  switch (error?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return `capture.denied.${device}`;
    case 'NotFoundError':
    case 'OverconstrainedError':
      return `capture.missing.${device}`;
    case 'NotReadableError':
    case 'AbortError':
      return `capture.busy.${device}`;
    case 'InsecureContextError':
      return 'capture.insecure';
    default:
      return `capture.failed.${device}`;
  }
}
