// One stay in a room: the signalling socket, the room model and the two connections.
//
// A stay survives network changes. When the socket drops, the session opens a new one
// with backoff and resumes with the resume token of its `welcome`, keeping both
// connections. When the publishing connection loses ICE, it restarts ICE, and replaces
// the connection when the restart does not connect in time. See docs/signalling.md,
// "Network changes".
//
// Events: `statechange` when the phase or a connection state changes; `failure`
// (detail: `{error, fatal}`) for errors the user should see; `ended` once, at the end;
// `phonecamera` (detail: the `phone_camera` message) when a phone camera changes state.

import { Briefing } from './briefing.js';
import { useIceServers } from './ice.js';
import { Publisher } from './publisher.js';
import { QualityReports } from './quality.js';
import { Room } from './room.js';
import { ServerError, Signalling } from './signalling.js';
import { Subscriber } from './subscriber.js';
import { Talks } from './talk.js';
import { videoCodecFromFragment } from './token.js';

/** The signalling socket closed without `leave`. */
export class ConnectionLostError extends Error {
  constructor(code) {
    super(`signalling socket closed with code ${code}`);
    this.name = 'ConnectionLostError';
  }
}

/** Delay before the n-th attempt to reopen a dropped socket, in milliseconds. */
function resumeDelayMs(attempt) {
  return attempt === 0 ? 0 : Math.min(250 * 2 ** attempt, 4_000);
}

/** How long the session tries to reopen a dropped socket before it gives up. */
const RESUME_LIMIT_MS = 60_000;

/** How long an ICE restart may take before the publishing connection is replaced. */
const ICE_RESTART_TIMEOUT_MS = 5_000;

/** How long the socket may take to reply to a ping before it counts as broken. */
const PROBE_TIMEOUT_MS = 2_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Resolves with true once `owner.pc` is connected, or with false after `ms`. */
function connectedWithin(owner, ms) {
  return new Promise((resolve) => {
    const check = () => {
      if (owner.pc?.connectionState === 'connected') {
        finish(true);
      }
    };
    const finish = (connected) => {
      clearTimeout(timer);
      owner.removeEventListener('statechange', check);
      resolve(connected);
    };
    const timer = setTimeout(() => finish(false), ms);
    owner.addEventListener('statechange', check);
    check();
  });
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
  /** Connection quality of the people in the room, for experts and organisers. */
  quality = new QualityReports();
  /** True while the socket is lost and the session tries to resume on a new one. */
  reconnecting = false;
  #resumeToken = null;
  #offlineUntil = 0; // set by simulateNetworkLoss
  #publisherRecovery = null;
  #subscriberRecovery = null;

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
    this.#resumeToken = this.welcome.resume_token;
    useIceServers(this.welcome.ice_servers);
    this.room = new Room(this.welcome);
    this.talks = new Talks(this.welcome.talks);
    if (this.welcome.kind === 'briefing') {
      this.briefing = new Briefing(this.welcome);
    }
    this.subscriber = new Subscriber(this.signalling);
    this.#watchSubscriber();
    this.subscriber.addEventListener('error', (event) => this.#report(event.detail, false));
    this.#listen(this.signalling);
    this.#setPhase('joined');
    return this.welcome;
  }

  /** Returns the publishing connection and creates it on first use. */
  ensurePublisher() {
    if (!this.publisher) {
      this.publisher = new Publisher(this.signalling, { videoCodec: videoCodecFromFragment() });
      this.publisher.addEventListener('statechange', () => {
        this.dispatchEvent(new Event('statechange'));
        if (['disconnected', 'failed'].includes(this.publisher.pc.connectionState)) {
          this.#recoverPublisher();
        }
      });
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

  /**
   * Drops the socket and closes the publishing connection, as an outage would, and keeps
   * the network "down" for `offlineMs`: the session then resumes and publishes on a new
   * connection. For end-to-end tests.
   */
  simulateNetworkLoss(offlineMs) {
    this.#offlineUntil = Date.now() + offlineMs;
    this.publisher?.pc.close();
    this.signalling.abort();
    this.#resume();
    if (this.publisher) {
      this.#recoverPublisher();
    }
  }

  /** Restarts ICE on the publishing connection at once. For end-to-end tests. */
  restartIce() {
    return this.publisher?.restartIce();
  }

  // Only the current socket counts: an old one that a resume replaced may still deliver
  // its close, or the server's `session_replaced`.
  #listen(signalling) {
    signalling.addEventListener('message', (event) => {
      if (signalling === this.signalling) {
        this.#route(event.detail);
      }
    });
    signalling.addEventListener('close', (event) => {
      if (signalling === this.signalling) {
        this.#onClose(event.detail);
      }
    });
  }

  #route(message) {
    if (message.type === 'error') {
      this.#routeError(message);
    } else if (this.publisher?.handleMessage(message)) {
      // a publish_answer or layers_wanted, applied by the publisher
    } else if (message.type === 'subscribe_offer') {
      this.subscriber.handleOffer(message);
    } else if (this.room.handle(message)) {
      // room changes reach the page through the room's events
    } else if (this.briefing?.handle(message)) {
      // hands, floor and chat reach the page through the briefing's events
    } else if (this.talks.handle(message)) {
      // talks reach the page through the talks' events
    } else if (message.type === 'phone_camera') {
      this.dispatchEvent(new CustomEvent('phonecamera', { detail: message }));
    } else if (this.quality.handle(message)) {
      // quality reports reach the page through their events
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

  #onClose({ expected }) {
    if (!expected && this.phase === 'joined') {
      this.#resume();
    }
  }

  // Opens new sockets with backoff until one resumes the session or the limit passes.
  async #resume() {
    if (this.reconnecting) {
      return;
    }
    this.reconnecting = true;
    this.dispatchEvent(new Event('statechange'));
    const started = Date.now();
    for (let attempt = 0; this.phase === 'joined'; attempt += 1) {
      await sleep(Math.max(resumeDelayMs(attempt), this.#offlineUntil - Date.now()));
      if (this.phase !== 'joined') {
        return;
      }
      const signalling = new Signalling();
      try {
        const welcome = await signalling.join(this.#token, this.#resumeToken);
        this.#resumed(signalling, welcome);
        return;
      } catch (error) {
        if (error instanceof ServerError) {
          this.#fail(error); // the token expired or the room is gone: retrying cannot help
          return;
        }
        if (Date.now() - started > RESUME_LIMIT_MS) {
          this.#fail(new ConnectionLostError(error.closeCode));
          return;
        }
      }
    }
  }

  #resumed(signalling, welcome) {
    this.signalling = signalling;
    this.welcome = welcome;
    this.#resumeToken = welcome.resume_token;
    useIceServers(welcome.ice_servers);
    this.#listen(signalling);
    this.room.reset(welcome);
    this.subscriber.setSignalling(signalling);
    this.publisher?.setSignalling(signalling);
    if (!welcome.resumed) {
      // The rejoin grace passed and the server removed the old session, so both
      // connections start afresh; the recording continues if the recorder still keeps it.
      this.subscriber.reset();
      this.publisher?.renew().catch((error) => this.#report(error, false));
    }
    // Talks may have started or ended while the socket was lost. After a fresh join the
    // server has also ended the talks of the removed session.
    this.talks.reset(welcome.talks);
    this.briefing?.reset(welcome); // hands, floor and chat that changed meanwhile
    this.reconnecting = false;
    this.dispatchEvent(new Event('resumed'));
    this.dispatchEvent(new Event('statechange'));
  }

  /** Resolves once the socket is open, waiting for a resume when it was lost. */
  #whenSignalling() {
    if (!this.reconnecting) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.addEventListener('resumed', resolve, { once: true }));
  }

  // A network change that broke ICE has often broken the socket too, without the browser
  // noticing yet: a socket that does not reply to a ping is dropped and resumed.
  async #ensureSignalling() {
    await this.#whenSignalling();
    if (this.phase === 'joined' && !(await this.signalling.probe(PROBE_TIMEOUT_MS))) {
      this.signalling.abort();
      this.#resume();
      await this.#whenSignalling();
    }
  }

  // Restarts ICE on the publishing connection, and replaces the connection when the
  // restart has not connected within ICE_RESTART_TIMEOUT_MS or the connection is closed.
  #recoverPublisher() {
    if (this.#publisherRecovery || this.phase !== 'joined') {
      return;
    }
    this.#publisherRecovery = this.#runPublisherRecovery()
      .catch((error) => this.#report(error, false))
      .finally(() => {
        this.#publisherRecovery = null;
      });
  }

  async #runPublisherRecovery() {
    await this.#ensureSignalling();
    const publisher = this.publisher;
    if (this.phase !== 'joined' || publisher.pc.connectionState === 'connected') {
      return;
    }
    if (publisher.pc.connectionState !== 'closed') {
      publisher.restartIce().catch((error) => console.warn('ICE restart failed:', error));
      if (await connectedWithin(publisher, ICE_RESTART_TIMEOUT_MS)) {
        return;
      }
    }
    if (this.phase === 'joined') {
      await publisher.renew();
    }
  }

  // The server offers the receiving connection, so the client asks it for an offer that
  // restarts ICE. A connection still failed after ICE_RESTART_TIMEOUT_MS ends the session.
  #watchSubscriber() {
    this.subscriber.addEventListener('statechange', () => {
      this.dispatchEvent(new Event('statechange'));
      if (['disconnected', 'failed'].includes(this.subscriber.pc?.connectionState)) {
        this.#recoverSubscriber();
      }
    });
  }

  #recoverSubscriber() {
    if (this.#subscriberRecovery || this.phase !== 'joined') {
      return;
    }
    this.#subscriberRecovery = this.#runSubscriberRecovery()
      .catch((error) => this.#report(error, false))
      .finally(() => {
        this.#subscriberRecovery = null;
      });
  }

  async #runSubscriberRecovery() {
    await this.#ensureSignalling();
    if (this.phase !== 'joined' || this.subscriber.pc?.connectionState === 'connected') {
      return;
    }
    this.signalling.send({ type: 'restart_ice' });
    const connected = await connectedWithin(this.subscriber, ICE_RESTART_TIMEOUT_MS);
    if (!connected && this.phase === 'joined' && this.subscriber.pc?.connectionState === 'failed') {
      this.#fail(new MediaConnectionError('receiving'));
    }
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
    this.talks?.clear();
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
  if (session.reconnecting) {
    return 'status.reconnecting';
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
