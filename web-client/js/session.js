// One stay in a room: the signalling socket, the room model and the two connections.
//
// Events: `statechange` when the phase or a connection state changes; `failure`
// (detail: `{error, fatal}`) for errors the user should see; `ended` once, at the end.

import { Briefing } from './briefing.js';
import { Publisher } from './publisher.js';
import { Room } from './room.js';
import { ServerError, Signalling } from './signalling.js';
import { Subscriber } from './subscriber.js';
import { videoCodecFromFragment } from './token.js';

/** The signalling socket closed without `leave`. */
export class ConnectionLostError extends Error {
  constructor(code) {
    super(`signalling socket closed with code ${code}`);
    this.name = 'ConnectionLostError';
  }
}

/** A media connection reached the `failed` state. */
export class MediaConnectionError extends Error {
  constructor(which) {
    super(`the ${which} connection failed`);
    this.name = 'MediaConnectionError';
    this.which = which;
  }
}

export class Session extends EventTarget {
  #token;
  phase = 'idle'; // idle, connecting, joined, ended
  failed = false;
  signalling = null;
  welcome = null;
  room = null;
  briefing = null; // a Briefing in briefing rooms
  publisher = null;
  subscriber = null;

  constructor(token) {
    super();
    this.#token = token;
  }

  /** Connects and joins. Resolves with `welcome` and rejects on an error or a closed socket. */
  async start() {
    this.#setPhase('connecting');
    this.signalling = new Signalling();
    try {
      this.welcome = await this.signalling.join(this.#token);
    } catch (error) {
      this.failed = true;
      this.#setPhase('ended');
      throw error;
    }
    this.room = new Room(this.welcome);
    if (this.welcome.kind === 'briefing') {
      this.briefing = new Briefing(this.welcome);
    }
    this.subscriber = new Subscriber(this.signalling);
    this.#watchConnection(this.subscriber, 'receiving');
    this.subscriber.addEventListener('error', (event) => this.#report(event.detail, false));
    this.signalling.addEventListener('message', (event) => this.#route(event.detail));
    this.signalling.addEventListener('close', (event) => this.#onClose(event.detail));
    this.#setPhase('joined');
    return this.welcome;
  }

  /** Returns the publishing connection and creates it on first use. */
  ensurePublisher() {
    if (!this.publisher) {
      this.publisher = new Publisher(this.signalling, { videoCodec: videoCodecFromFragment() });
      this.#watchConnection(this.publisher, 'publishing');
    }
    return this.publisher;
  }

  /** Leaves the room and closes both connections. */
  leave() {
    if (this.phase === 'joined' || this.phase === 'connecting') {
      this.signalling?.leave();
      this.#end();
    }
  }

  #route(message) {
    if (message.type === 'error') {
      this.#routeError(message);
    } else if (this.publisher?.handleMessage(message)) {
      // a publish_answer, applied by the publisher
    } else if (message.type === 'subscribe_offer') {
      this.subscriber.handleOffer(message);
    } else if (this.room.handle(message)) {
      // room changes reach the page through the room's events
    } else if (this.briefing?.handle(message)) {
      // hands, floor and chat reach the page through the briefing's events
    } else if (message.type !== 'pong') {
      console.warn(`ignored signalling message of type ${message.type}`);
    }
  }

  // An error that answers a waiting `publish` reaches the caller of `negotiate` instead.
  #routeError(message) {
    const consumed = this.publisher?.handleMessage(message) ?? false;
    if (message.fatal) {
      this.#fail(new ServerError(message));
    } else if (!consumed) {
      this.#report(new ServerError(message), false);
    }
  }

  #onClose({ expected, code }) {
    if (!expected && this.phase === 'joined') {
      this.#fail(new ConnectionLostError(code));
    }
  }

  // The protocol has no ICE restart, so a failed connection ends the session.
  #watchConnection(owner, which) {
    owner.addEventListener('statechange', () => {
      this.dispatchEvent(new Event('statechange'));
      if (owner.pc?.connectionState === 'failed' && this.phase === 'joined') {
        this.#fail(new MediaConnectionError(which));
      }
    });
  }

  #fail(error) {
    if (this.phase === 'ended') {
      return;
    }
    this.failed = true;
    this.signalling.leave();
    this.#report(error, true);
    this.#end();
  }

  #end() {
    this.publisher?.close();
    this.subscriber?.close();
    this.#setPhase('ended');
    this.dispatchEvent(new Event('ended'));
  }

  #report(error, fatal) {
    console.warn('session error:', error);
    this.dispatchEvent(new CustomEvent('failure', { detail: { error, fatal } }));
  }

  #setPhase(phase) {
    this.phase = phase;
    this.dispatchEvent(new Event('statechange'));
  }
}

/** Names the i18n key that describes the state of `session` for the status line. */
export function sessionStatusKey(session) {
  if (!session || session.phase === 'idle') {
    return 'status.idle';
  }
  if (session.phase === 'connecting') {
    return 'status.connecting';
  }
  if (session.phase === 'ended') {
    return session.failed ? 'status.failed' : 'status.left';
  }
  const states = [session.publisher?.pc, session.subscriber?.pc]
    .filter(Boolean)
    .map((pc) => pc.connectionState);
  if (states.includes('disconnected')) {
    return 'status.interrupted';
  }
  if (states.some((state) => state === 'new' || state === 'connecting')) {
    return 'status.media_connecting';
  }
  return 'status.connected';
}
