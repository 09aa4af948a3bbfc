// The participant's second camera, a view of the workplace, published as `camera2`. It is
// off until the participant picks a device. Picking "none" stops it again, which leaves a
// gap in the recording as for the first camera.
//
// Event: `trackchange` (detail: `{source: 'camera2', track}`), where `track` is null when
// the second camera is off or failed to open.

import { fillSelect } from './device-check.js';
import { setText } from './i18n.js';
import { captureErrorKey, listDevices, onDeviceChange, openCamera } from './media-devices.js';

export class SecondCamera extends EventTarget {
  #select;
  #preview;
  #previewBox;
  #reportError;
  #locked = false;
  track = null;

  /**
   * @param {object} elements `select`, `preview` video and `previewBox` around it
   * @param {(key: string) => void} reportError shows a capture error to the user
   */
  constructor({ select, preview, previewBox }, reportError) {
    super();
    this.#select = select;
    this.#preview = preview;
    this.#previewBox = previewBox;
    this.#reportError = reportError;
    select.addEventListener('change', () => this.#choose(select.value));
    onDeviceChange(() => this.fill());
  }

  /** Lists the cameras, with "none" first. Call it once device permission is granted. */
  async fill() {
    let devices;
    try {
      devices = await listDevices();
    } catch {
      return; // the device check shows the capture error
    }
    fillSelect(this.#select, devices.cameras, this.track, 'devices.camera_unnamed');
    const off = document.createElement('option');
    off.value = '';
    setText(off, 'devices.camera2_off');
    off.selected = this.track === null;
    this.#select.prepend(off);
    this.#select.disabled = this.#locked || devices.cameras.length === 0;
  }

  /**
   * Turns the choice off while a phone is the second camera, because the server rejects a
   * second `camera2` from this computer then. A device already chosen stays on.
   */
  lock(locked) {
    this.#locked = locked;
    this.#select.disabled = locked || this.#select.options.length < 2;
  }

  /** Stops the camera, for when the page closes. */
  stop() {
    this.track?.stop();
  }

  // The old track stops first, because most cameras cannot be opened twice.
  async #choose(deviceId) {
    this.track?.stop();
    if (!deviceId) {
      this.#use(null);
      return;
    }
    try {
      this.#use(await openCamera(deviceId));
    } catch (error) {
      this.#use(null);
      this.#reportError(captureErrorKey(error, 'camera'));
    }
  }

  #use(track) {
    this.track = track;
    this.#preview.srcObject = track ? new MediaStream([track]) : null;
    this.#previewBox.hidden = track === null;
    this.dispatchEvent(new CustomEvent('trackchange', { detail: { source: 'camera2', track } }));
  }
}
