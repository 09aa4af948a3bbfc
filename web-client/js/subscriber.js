// The receiving connection: the server offers (`subscribe_offer`), the client answers
// (`subscribe_answer`). The `tracks` list of the latest offer says, by MID, which person
// and source each m-line carries.
//
// Events: `trackadded` and `trackremoved` (detail: `{info, track}`, where `info` is the
// offer's entry `{mid, track, identity, kind, source}`), `statechange`, and `error`
// (detail: the error) when an offer could not be answered.

import { createPeerConnection } from './ice.js';

export class Subscriber extends EventTarget {
  #signalling;
  #queue = Promise.resolve();
  #offered = new Map(); // mid → track entry of the latest offer
  #assigned = new Map(); // mid → {info, track} announced by `trackadded`
  pc = null;

  constructor(signalling) {
    super();
    this.#signalling = signalling;
  }

  /** Sends later answers over `signalling`, a new socket that resumed the session. */
  setSignalling(signalling) {
    this.#signalling = signalling;
  }

  /**
   * Closes the connection so that the next offer starts a new one: after a join that
   * could not resume, the server has a new receiving connection for this client.
   */
  reset() {
    this.close();
    this.pc = null;
    this.#offered = new Map();
  }

  /** Answers a `subscribe_offer`. Offers are answered one at a time, in order. */
  handleOffer(message) {
    this.#queue = this.#queue
      .then(() => this.#answer(message))
      .catch((error) => this.dispatchEvent(new CustomEvent('error', { detail: error })));
  }

  /** Closes the connection and withdraws every track it announced. */
  close() {
    this.pc?.close();
    for (const [mid, assigned] of this.#assigned) {
      this.#assigned.delete(mid);
      this.#announce('trackremoved', assigned);
    }
  }

  async #answer({ sdp, tracks }) {
    this.#offered = new Map(tracks.map((info) => [info.mid, info]));
    const pc = this.#connection();
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    this.#signalling.send({ type: 'subscribe_answer', sdp: pc.localDescription.sdp });
    this.#reconcile();
  }

  #connection() {
    if (!this.pc) {
      this.pc = createPeerConnection();
      this.pc.addEventListener('track', (event) => this.#onTrack(event));
      this.pc.addEventListener('connectionstatechange', () => {
        this.dispatchEvent(new Event('statechange'));
      });
    }
    return this.pc;
  }

  #onTrack(event) {
    const mid = event.transceiver.mid;
    const info = this.#offered.get(mid);
    if (info) {
      this.#assign(mid, info, event.track);
    } else {
      console.warn(`received a track on MID ${mid}, which the offer does not list`);
    }
  }

  // A `track` event fires only when an m-line starts receiving. An m-line the server
  // reuses for another track, or stops using, shows only in the offer's `tracks` list.
  #reconcile() {
    for (const [mid, assigned] of this.#assigned) {
      if (this.#offered.get(mid)?.track !== assigned.info.track) {
        this.#assigned.delete(mid);
        this.#announce('trackremoved', assigned);
      }
    }
    for (const transceiver of this.pc.getTransceivers()) {
      const info = this.#offered.get(transceiver.mid);
      const receiving = ['recvonly', 'sendrecv'].includes(transceiver.currentDirection);
      if (info && receiving) {
        this.#assign(transceiver.mid, info, transceiver.receiver.track);
      }
    }
  }

  #assign(mid, info, track) {
    const existing = this.#assigned.get(mid);
    if (existing?.info.track === info.track && existing.track === track) {
      return;
    }
    if (existing) {
      this.#announce('trackremoved', existing);
    }
    this.#assigned.set(mid, { info, track });
    this.#announce('trackadded', { info, track });
  }

  #announce(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
