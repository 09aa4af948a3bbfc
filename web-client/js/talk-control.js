// The talker's side of a talk: `talk_start`, then the microphone published as the `talk`
// source and the camera as `talk_video` while it lasts, then `talk_stop` and both m-lines
// made inactive, so that an expert who is not talking sends nothing. Without a camera
// (missing or denied) the talk goes on with audio only.

import { openCamera, openMicrophone } from './media-devices.js';

export class TalkControl {
  #session;
  #microphone = null;
  #camera = null;
  #participant = null;

  /** The error that kept the camera from opening for the current talk, or null. */
  cameraError = null;

  constructor(session) {
    this.#session = session;
  }

  /** The camera track sent with the current talk, or null for a talk with audio only. */
  get camera() {
    return this.#participant === null ? null : this.#camera;
  }

    /** The participant talked to, or null. */
  get participant() {
    return this.#participant;
  }

  /** Starts talking to `participant`, ending a talk to anyone else. */
  async start(participant) {
    if (!this.#microphone || this.#microphone.readyState !== 'live') {
      this.#microphone = await openMicrophone();
    }
    await this.#openCamera();
    this.#participant = participant;
    this.#session.signalling.send({ type: 'talk_start', identity: participant });
    const publisher = this.#session.ensurePublisher();
    let changed = false;
    if (!publisher.isSending('talk')) {
      await publisher.add('talk', this.#microphone);
      changed = true;
    }
    if (this.#camera && !publisher.isSending('talk_video')) {
      await publisher.add('talk_video', this.#camera);
      changed = true;
    }
    if (changed) {
      await publisher.negotiate();
    }
  }

  /** Ends the talk and stops sending the microphone and the camera. */
  async stop() {
    if (this.#participant === null) {
      return;
    }
    this.#participant = null;
    this.#session.signalling.send({ type: 'talk_stop' });
    await this.release();
  }

  /** Stops the devices, as when the server ended the talk or the session ended. */
  async release() {
    this.#participant = null;
    this.cameraError = null;
    const publisher = this.#session.publisher;
    this.#microphone?.stop();
    this.#microphone = null;
    this.#camera?.stop();
    this.#camera = null;
    let changed = false;
    for (const source of ['talk', 'talk_video']) {
      if (publisher?.isSending(source)) {
        await publisher.remove(source);
        changed = true;
      }
    }
    if (changed) {
      await publisher.negotiate();
    }
  }

  // A camera that is missing, busy or denied leaves the talk with audio only.
  async #openCamera() {
    if (this.#camera?.readyState === 'live') {
      return;
    }
    try {
      this.#camera = await openCamera();
      this.cameraError = null;
    } catch (error) {
      this.#camera = null;
      this.cameraError = error;
    }
  }
}
