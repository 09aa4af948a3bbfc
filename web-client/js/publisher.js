// The publishing connection: the client offers, the server answers (`publish` and
// `publish_answer`). Each source (camera, microphone, screen, screen_audio) keeps one
// transceiver for the whole connection; stopping a source makes its m-line inactive, and
// publishing it again reuses that m-line. After a network change the connection restarts
// ICE (`restartIce`), and when that fails it is replaced by a new one with the same
// tracks (`renew`), which the server gives the same track ids.

import { activateLayers, sendEncodings } from './encodings.js';
import { createPeerConnection } from './ice.js';
import { ServerError } from './signalling.js';

const ANSWER_TIMEOUT_MS = 15_000;

/** The server sent no `publish_answer` in time. */
export class AnswerTimeoutError extends Error {
  constructor() {
    super(`no publish_answer within ${ANSWER_TIMEOUT_MS} ms`);
    this.name = 'AnswerTimeoutError';
  }
}

export class Publisher extends EventTarget {
  #signalling;
  #transceivers = new Map(); // source → RTCRtpTransceiver
  #sending = new Map(); // source → MediaStreamTrack, for `renew` once the connection closed
  #pendingAnswer = null; // {resolve, reject} while a `publish` waits for its answer
  #negotiation = null;
  #negotiateAgain = false;
  #iceRestartWanted = false;
  #videoCodec;

  /** `videoCodec`, a MIME type such as `video/VP9`, is put first in every video offer. */
  constructor(signalling, { videoCodec = null } = {}) {
    super();
    this.#signalling = signalling;
    this.#videoCodec = videoCodec;
    this.pc = this.#createConnection();
  }

  /** Sends later offers over `signalling`, a new socket that resumed the session. */
  setSignalling(signalling) {
    this.#signalling = signalling;
  }

  /** Offers again with new ICE credentials, so that ICE finds a path over the new network. */
  restartIce() {
    this.#iceRestartWanted = true;
    return this.negotiate();
  }

  /**
   * Replaces the connection with a new one that sends the same tracks, after an ICE
   * restart failed. The offer carries another DTLS fingerprint, so the server moves the old
   * connection's tracks to the new one.
   */
  async renew() {
    // A closed connection has stopped its transceivers, so the tracks come from #sending.
    const sending = [...this.#sending].filter(([, track]) => track.readyState === 'live');
    this.#pendingAnswer?.reject(new Error('publishing connection replaced'));
    await this.#negotiation?.catch(() => {});
    this.pc.close();
    this.#transceivers.clear();
    this.#iceRestartWanted = false;
    this.pc = this.#createConnection();
    this.dispatchEvent(new Event('statechange'));
    for (const [source, track] of sending) {
      await this.add(source, track);
    }
    await this.negotiate();
  }

  #createConnection() {
    const pc = createPeerConnection();
    pc.addEventListener('connectionstatechange', () => {
      if (pc === this.pc) {
        this.dispatchEvent(new Event('statechange'));
      }
    });
    return pc;
  }

  /** Sends `track` as `source` from the next negotiation on. */
  async add(source, track) {
    this.#sending.set(source, track);
    const transceiver = this.#transceivers.get(source);
    if (!transceiver) {
      const encodings = sendEncodings(source);
      const added = this.pc.addTransceiver(track, {
        direction: 'sendonly',
        ...(encodings && { sendEncodings: encodings }),
      });
      if (track.kind === 'video' && this.#videoCodec) {
        preferCodec(added, this.#videoCodec);
      }
      this.#transceivers.set(source, added);
      return;
    }
    await transceiver.sender.replaceTrack(track);
    transceiver.direction = 'sendonly';
  }

  /** Stops sending `source`, so its m-line becomes inactive at the next negotiation. */
  async remove(source) {
    this.#sending.delete(source);
    const transceiver = this.#transceivers.get(source);
    if (!transceiver) {
      return;
    }
    await transceiver.sender.replaceTrack(null);
    transceiver.direction = 'inactive';
  }

  /** Swaps the device behind a sending source without a new offer. */
  async replaceTrack(source, track) {
    const transceiver = this.#transceivers.get(source);
    if (transceiver?.direction === 'sendonly' && track) {
      this.#sending.set(source, track);
      await transceiver.sender.replaceTrack(track);
    }
  }

  /** Checks whether `source` is being sent. */
  isSending(source) {
    return this.#transceivers.get(source)?.direction === 'sendonly';
  }

  /**
   * Sends a `publish` offer for the current tracks and applies the answer. Calls made
   * while a negotiation runs are folded into one more negotiation after it.
   */
  negotiate() {
    if (this.#negotiation) {
      this.#negotiateAgain = true;
      return this.#negotiation;
    }
    this.#negotiation = this.#negotiateUntilSettled().finally(() => {
      this.#negotiation = null;
    });
    return this.#negotiation;
  }

  /**
   * Takes a server message and returns true when it was for the publisher: a
   * `layers_wanted`, or the answer or error of a waiting `publish`. The protocol does not tie an `error` to the request that caused it, so an error
   * that arrives while a `publish` waits is taken as that request's failure.
   */
  handleMessage(message) {
    if (message.type === 'layers_wanted') {
      this.#activateLayers(message);
      return true;
    }
    const pending = this.#pendingAnswer;
    if (!pending) {
      return false;
    }
    if (message.type === 'publish_answer') {
      pending.resolve(message.sdp);
      return true;
    }
    if (message.type === 'error') {
      pending.reject(new ServerError(message));
      return true;
    }
    return false;
  }

  // Pauses the simulcast layers of one m-line that no receiver or recording needs.
  #activateLayers({ mid, rids }) {
    const transceiver = [...this.#transceivers.values()].find((t) => t.mid === mid);
    if (!transceiver) {
      return;
    }
    activateLayers(transceiver.sender, rids).catch((error) => {
      console.warn(`could not set the active layers of MID ${mid}: ${error}`);
    });
  }

  /** Closes the connection but leaves the tracks running for their owners. */
  close() {
    this.#pendingAnswer?.reject(new Error('publishing connection closed'));
    this.pc.close();
  }

  async #negotiateUntilSettled() {
    do {
      this.#negotiateAgain = false;
      await this.#negotiateOnce();
    } while (this.#negotiateAgain);
  }

  async #negotiateOnce() {
    const iceRestart = this.#iceRestartWanted;
    this.#iceRestartWanted = false;
    const pc = this.pc;
    await pc.setLocalDescription(await pc.createOffer({ iceRestart }));

    const answer = this.#waitForAnswer();
    this.#signalling.send({
      type: 'publish',
      sdp: this.pc.localDescription.sdp,
      tracks: this.#publishedTracks(),
    });

    let sdp;
    try {
      sdp = await answer;
    } catch (error) {
      // Returns to the last agreed state so that a later offer can start afresh.
      if (pc.signalingState === 'have-local-offer') {
        await pc.setLocalDescription({ type: 'rollback' });
      }
      if (iceRestart) {
        this.#iceRestartWanted = true;
      }
      throw error;
    }
    if (pc === this.pc) {
      await pc.setRemoteDescription({ type: 'answer', sdp });
    }
  }

  #waitForAnswer() {
    return new Promise((resolve, reject) => {
      const finish = (callback, value) => {
        clearTimeout(timer);
        this.#pendingAnswer = null;
        callback(value);
      };
      const timer = setTimeout(() => finish(reject, new AnswerTimeoutError()), ANSWER_TIMEOUT_MS);
      this.#pendingAnswer = {
        resolve: (sdp) => finish(resolve, sdp),
        reject: (error) => finish(reject, error),
      };
    });
  }

  // MIDs exist once the offer is the local description.
  #publishedTracks() {
    const tracks = [];
    for (const [source, transceiver] of this.#transceivers) {
      if (transceiver.mid !== null && transceiver.direction === 'sendonly') {
        tracks.push({ mid: transceiver.mid, source });
      }
    }
    return tracks;
  }
}

/** Puts the codecs of `mimeType` first in the transceiver's offer, keeping the others. */
function preferCodec(transceiver, mimeType) {
  const codecs = RTCRtpReceiver.getCapabilities('video')?.codecs ?? [];
  const wanted = mimeType.toLowerCase();
  const preferred = codecs.filter((codec) => codec.mimeType.toLowerCase() === wanted);
  if (preferred.length === 0) {
    return;
  }
  const others = codecs.filter((codec) => codec.mimeType.toLowerCase() !== wanted);
  transceiver.setCodecPreferences([...preferred, ...others]);
}
