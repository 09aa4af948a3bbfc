// The device check: camera preview, microphone level and the choice of devices.
// It owns the local camera and microphone tracks and reports when it replaces one.

import { setText } from './i18n.js';
import { LevelMeter } from './level-meter.js';
import {
  captureErrorKey,
  listDevices,
  onDeviceChange,
  openCamera,
  openCameraAndMicrophone,
  openMicrophone,
} from './media-devices.js';

export class DeviceCheck extends EventTarget {
  #preview;
  #cameraSelect;
  #microphoneSelect;
  #meter;
  #reportError;
  camera = null;
  microphone = null;

  /**
   * @param {object} elements `preview` video, `cameraSelect`, `microphoneSelect`, `meter`
   * @param {(key: string) => void} reportError shows a capture error to the user
   */
  constructor({ preview, cameraSelect, microphoneSelect, meter }, reportError) {
    super();
    this.#preview = preview;
    this.#cameraSelect = cameraSelect;
    this.#microphoneSelect = microphoneSelect;
    this.#meter = new LevelMeter(meter);
    this.#reportError = reportError;
    cameraSelect.addEventListener('change', () => this.#switchCamera(cameraSelect.value));
    microphoneSelect.addEventListener('change', () =>
      this.#switchMicrophone(microphoneSelect.value),
    );
    onDeviceChange(() => this.#fillSelects());
  }

  /** Opens camera and microphone and resolves once the check shows what it could open. */
  async start() {
    const opened = await openCameraAndMicrophone();
    if (opened.cameraError) {
      this.#reportError(captureErrorKey(opened.cameraError, 'camera'));
    } else if (opened.microphoneError) {
      this.#reportError(captureErrorKey(opened.microphoneError, 'microphone'));
    }
    this.#useCamera(opened.camera);
    this.#useMicrophone(opened.microphone);
    await this.#fillSelects();
  }

  /** True when at least one device works, so that there is something to publish. */
  get ready() {
    return this.camera !== null || this.microphone !== null;
  }

  /** Stops both devices, for when the page closes. */
  stop() {
    this.camera?.stop();
    this.microphone?.stop();
    this.#meter.detach();
  }

  #useCamera(track) {
    this.camera = track;
    this.#preview.srcObject = track ? new MediaStream([track]) : null;
    this.dispatchEvent(new CustomEvent('trackchange', { detail: { source: 'camera', track } }));
  }

  #useMicrophone(track) {
    this.microphone = track;
    if (track) {
      this.#meter.attach(track);
    } else {
      this.#meter.detach();
    }
    this.dispatchEvent(
      new CustomEvent('trackchange', { detail: { source: 'microphone', track } }),
    );
  }

  // Most cameras cannot be opened twice, so the old track stops before the new one opens.
  async #switchCamera(deviceId) {
    this.camera?.stop();
    try {
      this.#useCamera(await openCamera(deviceId));
    } catch (error) {
      this.#useCamera(null);
      this.#reportError(captureErrorKey(error, 'camera'));
    }
  }

  async #switchMicrophone(deviceId) {
    this.microphone?.stop();
    try {
      this.#useMicrophone(await openMicrophone(deviceId));
    } catch (error) {
      this.#useMicrophone(null);
      this.#reportError(captureErrorKey(error, 'microphone'));
    }
  }

  async #fillSelects() {
    let devices;
    try {
      devices = await listDevices();
    } catch {
      return; // the capture error is already on screen
    }
    fillSelect(this.#cameraSelect, devices.cameras, this.camera, 'devices.camera_unnamed');
    fillSelect(
      this.#microphoneSelect,
      devices.microphones,
      this.microphone,
      'devices.microphone_unnamed',
    );
  }
}

/** Lists `devices` in `select`, with the device of `track` selected. */
export function fillSelect(select, devices, track, unnamedKey) {
  const selected = track?.getSettings().deviceId;
  select.replaceChildren();
  devices.forEach((device, index) => {
    const option = document.createElement('option');
    option.value = device.deviceId;
    if (device.label) {
      option.textContent = device.label;
    } else {
      // Browsers hide labels until a device permission is granted.
      setText(option, unnamedKey, { number: index + 1 });
    }
    option.selected = device.deviceId === selected;
    select.append(option);
  });
  select.disabled = devices.length === 0;
}
