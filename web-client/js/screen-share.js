// Screen sharing on a publishing connection: the screen goes out as source `screen`, and
// its sound, when the browser captures any, as `screen_audio`.
//
// Event: `ended` when the browser's own "stop sharing" control ends the capture; the
// owner then calls `stop` to withdraw the tracks from the server.

import { openScreen } from './media-devices.js';

export class ScreenShare extends EventTarget {
  #publisher;
  stream = null;

  constructor(publisher) {
    super();
    this.#publisher = publisher;
  }

  get active() {
    return this.stream !== null;
  }

  /** Asks the user for a screen and publishes it. */
  async start() {
    const stream = await openScreen();
    this.stream = stream;
    const [video] = stream.getVideoTracks();
    const [audio] = stream.getAudioTracks();
    video.addEventListener('ended', () => this.dispatchEvent(new Event('ended')));
    await this.#publisher.add('screen', video);
    if (audio) {
      await this.#publisher.add('screen_audio', audio);
    }
    try {
      await this.#publisher.negotiate();
    } catch (error) {
      // The failed offer was rolled back, so only the local side needs undoing.
      this.release();
      await this.#publisher.remove('screen');
      await this.#publisher.remove('screen_audio');
      throw error;
    }
  }

  /** Stops the capture and withdraws its m-lines with a new offer. */
  async stop() {
    if (!this.stream) {
      return;
    }
    for (const track of this.stream.getTracks()) {
      track.stop();
    }
    this.stream = null;
    await this.#publisher.remove('screen');
    await this.#publisher.remove('screen_audio');
    await this.#publisher.negotiate();
  }

  /** Stops the capture without a new offer, for when the session is over. */
  release() {
    for (const track of this.stream?.getTracks() ?? []) {
      track.stop();
    }
    this.stream = null;
  }
}
