// The talker's side of a talk: `talk_start` and the microphone published as the `talk`
// source while it lasts, then `talk_stop` and the m-line made inactive, so that an expert
// who is not talking sends nothing.

import { openMicrophone } from './media-devices.js';

export class TalkControl {
  #session;
  #microphone = null;
  #participant = null;

  constructor(session) {
    this.#session = session;
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
    this.#participant = participant;
    this.#session.signalling.send({ type: 'talk_start', identity: participant });
    const publisher = this.#session.ensurePublisher();
    if (publisher.isSending('talk')) {
      return;
    }
    await publisher.add('talk', this.#microphone);
    await publisher.negotiate();
  }

  /** Ends the talk and stops sending the microphone. */
  async stop() {
    if (this.#participant === null) {
      return;
    }
    this.#participant = null;
    this.#session.signalling.send({ type: 'talk_stop' });
    await this.release();
  }

  /** Stops the microphone, as when the server ended the talk or the session ended. */
  async release() {
    this.#participant = null;
    const publisher = this.#session.publisher;
    this.#microphone?.stop();
    this.#microphone = null;
    if (publisher?.isSending('talk')) {
      await publisher.remove('talk');
      await publisher.negotiate();
    }
  }
}
