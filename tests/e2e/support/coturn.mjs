// A coturn TURN server for the firewall tests: TURN over TLS only, on one address and
// port, with a test certificate made by openssl and the TURN REST API's shared secret.

import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sleep } from './server.mjs';

export const TURNSERVER_PATH = '/usr/bin/turnserver';
const OPENSSL = '/usr/bin/openssl';
const START_TIMEOUT_MS = 10_000;

/** Returns why coturn cannot run here, or null when it can. */
export function coturnUnavailable() {
  for (const tool of [TURNSERVER_PATH, OPENSSL]) {
    if (!fs.existsSync(tool)) {
      return `${tool} not found: run scripts/install-deps`;
    }
  }
  return null;
}

/** A running turnserver, its secret and its certificate's SPKI hash. */
export class Coturn {
  #child;
  #exited;

  constructor(child, { dir, address, port, secret, spki }) {
    this.#child = child;
    this.dir = dir;
    this.address = address;
    this.port = port;
    this.secret = secret;
    this.spki = spki;
    this.url = `turns:${address}:${port}?transport=tcp`;
    this.#exited = new Promise((resolve) => child.once('exit', resolve));
  }

  /**
   * Starts coturn listening for TURN over TLS on `address:port` only, relaying to
   * `peerAddress` only, with a new secret and a certificate for `address`.
   */
  static async start({ address, port, peerAddress }) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'profstage-coturn-'));
    const secret = randomBytes(24).toString('hex');
    const spki = makeCertificate(dir, address);
    const config = path.join(dir, 'turnserver.conf');
    fs.writeFileSync(config, coturnConfig({ dir, address, port, peerAddress, secret }));
    const log = fs.openSync(path.join(dir, 'turnserver.log'), 'w');
    const child = spawn(TURNSERVER_PATH, ['-c', config], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    const coturn = new Coturn(child, { dir, address, port, secret, spki });
    await coturn.#waitListening();
    return coturn;
  }

  async #waitListening() {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.#child.exitCode !== null) {
        throw new Error(`turnserver exited at start:\n${this.logTail()}`);
      }
      if (await accepts(this.address, this.port)) {
        return;
      }
      await sleep(100);
    }
    throw new Error(`turnserver not listening after ${START_TIMEOUT_MS} ms:\n${this.logTail()}`);
  }

  /** Returns the end of coturn's log. */
  logTail(maxChars = 4000) {
    const file = path.join(this.dir, 'turnserver.log');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').slice(-maxChars) : '';
  }

  /** Stops coturn and deletes its folder. */
  async stop() {
    if (this.#child.exitCode === null) {
      this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
      await this.#exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// Writes a self-signed certificate for `address` and returns the base64 SHA-256 hash of its
// public key, the form Chromium's --ignore-certificate-errors-spki-list takes.
function makeCertificate(dir, address) {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync(OPENSSL, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=profstage-test-turn',
    '-addext', `subjectAltName=IP:${address}`,
  ], { stdio: 'pipe' });
  const publicKey = execFileSync(OPENSSL, ['x509', '-pubkey', '-noout', '-in', cert]);
  const der = execFileSync(OPENSSL, ['pkey', '-pubin', '-outform', 'der'], { input: publicKey });
  return execFileSync(OPENSSL, ['dgst', '-sha256', '-binary'], { input: der }).toString('base64');
}

function coturnConfig({ dir, address, port, peerAddress, secret }) {
  return [
    `listening-ip=${address}`,
    `relay-ip=${address}`,
    `tls-listening-port=${port}`,
    // Only TURN over TLS: no plain UDP or TCP listener and no DTLS.
    'no-udp',
    'no-tcp',
    'no-dtls',
    `cert=${path.join(dir, 'cert.pem')}`,
    `pkey=${path.join(dir, 'key.pem')}`,
    'use-auth-secret',
    `static-auth-secret=${secret}`,
    'realm=profstage.test',
    'fingerprint',
    // coturn relays only to the media server.
    'denied-peer-ip=0.0.0.0-255.255.255.255',
    `allowed-peer-ip=${peerAddress}`,
    `userdb=${path.join(dir, 'turndb')}`,
    `pidfile=${path.join(dir, 'turnserver.pid')}`,
    'log-file=stdout',
    'simple-log',
    'no-cli',
    '',
  ].join('\n');
}

function accepts(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
