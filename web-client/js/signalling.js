// The signalling WebSocket at /ws: JSON messages as described in docs/signalling.md.

export const PROTOCOL_VERSION = 1;
const PING_INTERVAL_MS = 20_000;

/** An `error` message from the server. */
export class ServerError extends Error {
  constructor({ code, message, fatal }) {
    super(`${code}: ${message}`);
    this.name = 'ServerError';
    this.code = code;
    this.serverMessage = message;
    this.fatal = Boolean(fatal);
  }
}

/** The socket closed before the server welcomed the client. */
export class ConnectionClosedError extends Error {
  constructor(code) {
    super(`signalling socket closed with code ${code}`);
    this.name = 'ConnectionClosedError';
    this.closeCode = code;
  }
}

function signallingUrl() {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}/ws`;
}

function parseMessage(data) {
  try {
    const message = JSON.parse(data);
    return typeof message?.type === 'string' ? message : null;
  } catch {
    return null;
  }
}

/** Close code the client uses to drop a socket as a broken network would. */
const ABORT_CODE = 4000;

/**
 * One signalling socket. After `join` resolves, every server message is dispatched as a
 * `message` event (detail: the message) and the end of the socket as a `close` event
 * (detail: `{expected, code}`, expected true after `leave`).
 */
export class Signalling extends EventTarget {
  #socket = null;
  #pingTimer = 0;
  #leaving = false;
  #pongWaiters = [];

  /**
   * Opens the socket, sends `join` and resolves with the `welcome` message. With `resume`,
   * the `resume_token` of an earlier `welcome`, the server gives back that session's place
   * if it still keeps it (`welcome.resumed`).
   */
  join(token, resume = null) {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(signallingUrl());
      this.#socket = socket;
      let welcomed = false;

      socket.addEventListener('open', () => {
        const join = { type: 'join', protocol: PROTOCOL_VERSION, token };
        if (resume) {
          join.resume = resume;
        }
        this.send(join);
      });
      socket.addEventListener('message', (event) => {
        const message = parseMessage(event.data);
        if (!message) {
          console.warn('ignored a signalling frame that is not a message');
        } else if (welcomed) {
          if (message.type === 'pong') {
            this.#pongWaiters.splice(0).forEach((resolve) => resolve(true));
          }
          this.dispatchEvent(new CustomEvent('message', { detail: message }));
        } else if (message.type === 'welcome') {
          welcomed = true;
          this.#startPing();
          resolve(message);
        } else if (message.type === 'error') {
          reject(new ServerError(message));
          this.#close();
        }
      });
      socket.addEventListener('close', (event) => {
        this.#stopPing();
        if (!welcomed) {
          reject(new ConnectionClosedError(event.code));
          return;
        }
        const detail = { expected: this.#leaving, code: event.code };
        this.dispatchEvent(new CustomEvent('close', { detail }));
      });
    });
  }

  /** Sends one message, or drops it when the socket is not open. */
  send(message) {
    if (this.#socket?.readyState === WebSocket.OPEN) {
      this.#socket.send(JSON.stringify(message));
    }
  }

  /** Sends `leave` and closes the socket. */
  leave() {
    this.#leaving = true;
    this.send({ type: 'leave' });
    this.#close();
  }

  /**
   * Sends `ping` and resolves with whether `pong` came within `timeoutMs`. A socket whose
   * network is gone can stay open for minutes before the browser notices.
   */
  probe(timeoutMs) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pongWaiters = this.#pongWaiters.filter((waiter) => waiter !== done);
        resolve(false);
      }, timeoutMs);
      const done = (answered) => {
        clearTimeout(timer);
        resolve(answered);
      };
      this.#pongWaiters.push(done);
      this.send({ type: 'ping' });
    });
  }

  /**
   * Closes the socket without `leave`, with a close code that the server treats as a broken
   * connection, so that it keeps the session for a resume.
   */
  abort() {
    this.#stopPing();
    this.#socket?.close(ABORT_CODE);
  }

  #close() {
    this.#stopPing();
    this.#socket?.close(1000);
  }

  #startPing() {
    this.#pingTimer = setInterval(() => this.send({ type: 'ping' }), PING_INTERVAL_MS);
  }

  #stopPing() {
    clearInterval(this.#pingTimer);
  }
}
