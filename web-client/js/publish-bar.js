// The organiser's bar on the expert page: publish own camera and microphone, share the
// screen. It uses the same publishing connection and screen sharing as participants.

import { showError } from './error-banner.js';
import { describeError, describeScreenError } from './errors.js';
import { captureErrorKey, openCameraAndMicrophone } from './media-devices.js';
import { ScreenShare } from './screen-share.js';

export class PublishBar {
  #root;
  #ui;
  #session = null;
  #camera = null;
  #microphone = null;
  #screenShare = null;
  #busy = false;

  constructor(root) {
    this.#root = root;
    const find = (id) => root.querySelector(`[data-testid="${id}"]`);
    this.#ui = {
      preview: find('organiser-preview'),
      publishCamera: find('publish-camera'),
      stopCamera: find('stop-camera'),
      shareScreen: find('share-screen'),
      stopSharing: find('stop-sharing'),
    };
    this.#ui.publishCamera.addEventListener('click', () => this.#act(() => this.#publishCamera()));
    this.#ui.stopCamera.addEventListener('click', () => this.#act(() => this.#stopCamera()));
    this.#ui.shareScreen.addEventListener('click', () =>
      this.#act(() => this.#shareScreen(), describeScreenError),
    );
    this.#ui.stopSharing.addEventListener('click', () => this.#act(() => this.#stopSharing()));
  }

  /** Shows the bar for a session whose role may publish. */
  bind(session) {
    this.#session = session;
    this.#root.hidden = false;
    session.addEventListener('ended', () => this.#release());
    this.#update();
  }

  async #publishCamera() {
    const opened = await openCameraAndMicrophone();
    if (!opened.camera && !opened.microphone) {
      showError(captureErrorKey(opened.cameraError, 'camera'));
      return;
    }
    this.#camera = opened.camera;
    this.#microphone = opened.microphone;
    this.#ui.preview.srcObject = this.#camera ? new MediaStream([this.#camera]) : null;

    const publisher = this.#session.ensurePublisher();
    if (this.#camera) {
      await publisher.add('camera', this.#camera);
    }
    if (this.#microphone) {
      await publisher.add('microphone', this.#microphone);
    }
    await publisher.negotiate();
  }

  async #stopCamera() {
    this.#stopDevices();
    const publisher = this.#session.ensurePublisher();
    await publisher.remove('camera');
    await publisher.remove('microphone');
    await publisher.negotiate();
  }

  async #shareScreen() {
    this.#screenShare = new ScreenShare(this.#session.ensurePublisher());
    this.#screenShare.addEventListener('ended', () => this.#act(() => this.#stopSharing()));
    await this.#screenShare.start();
  }

  async #stopSharing() {
    await this.#screenShare?.stop();
  }

  #stopDevices() {
    this.#camera?.stop();
    this.#microphone?.stop();
    this.#camera = null;
    this.#microphone = null;
    this.#ui.preview.srcObject = null;
  }

  #release() {
    this.#stopDevices();
    this.#screenShare?.release();
    this.#root.hidden = true;
  }

  async #act(action, describe = describeError) {
    this.#busy = true;
    this.#update();
    try {
      await action();
    } catch (error) {
      if (this.#session?.phase !== 'ended') {
        const { key, vars } = describe(error);
        showError(key, vars);
      }
    } finally {
      this.#busy = false;
      this.#update();
    }
  }

  #update() {
    const publishingCamera = this.#camera !== null || this.#microphone !== null;
    const sharing = this.#screenShare?.active === true;
    this.#ui.publishCamera.hidden = publishingCamera;
    this.#ui.stopCamera.hidden = !publishingCamera;
    this.#ui.shareScreen.hidden = sharing;
    this.#ui.stopSharing.hidden = !sharing;
    this.#ui.preview.hidden = !publishingCamera;
    for (const button of this.#root.querySelectorAll('button')) {
      button.disabled = this.#busy;
    }
  }
}
