// Starts the profstage binary on free loopback ports with a temporary working directory,
// and asks its development endpoint for tokens.

import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(fileURLToPath(new URL('../../..', import.meta.url)));

const HOST = '127.0.0.1';
const HEALTH_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;

// Variables read by the test harnesses. The server rejects any `PROFSTAGE_` variable that is not
// one of its settings, so these are removed from the server's environment.
const HARNESS_VARIABLES = ['PROFSTAGE_BIN', 'PROFSTAGE_LOAD_BIN', 'PROFSTAGE_TEST_DATABASE_URL'];

/** Returns the server binary: `PROFSTAGE_BIN`, or the debug build in `target/`. */
export function serverBinary() {
  const configured = process.env.PROFSTAGE_BIN;
  const binary = configured
    ? path.resolve(configured)
    : path.join(REPO_ROOT, 'target', 'debug', 'profstage');
  if (!fs.existsSync(binary)) {
    throw new Error(
      `server binary ${binary} not found: build it with ` +
        '`cargo build -p profstage-server` or set PROFSTAGE_BIN',
    );
  }
  return binary;
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Returns a UDP port on 127.0.0.1 that was free a moment ago. */
export function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, HOST, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

function serverEnvironment(host, httpPort, udpPort, extra) {
  const env = { ...process.env, ...extra };
  for (const name of HARNESS_VARIABLES) {
    delete env[name];
  }
  env.PROFSTAGE_HTTP_LISTEN = `${host}:${httpPort}`;
  env.PROFSTAGE_MEDIA_UDP_LISTEN = `${host}:${udpPort}`;
  env.PROFSTAGE_WEB_ROOT = path.join(REPO_ROOT, 'web-client');
  env.RUST_LOG ??= 'info,profstage_server=debug,media_core=debug';
  return env;
}

/** A running server, its ports, its log and its working directory. */
export class ServerProcess {
  #child;
  #exited;
  #logStream;

  constructor(child, { host, httpPort, udpPort, dataDir, logPath }) {
    this.#child = child;
    this.host = host;
    this.httpPort = httpPort;
    this.udpPort = udpPort;
    this.dataDir = dataDir;
    this.logPath = logPath;
    this.baseUrl = `http://${host}:${httpPort}`;
    this.exitStatus = null;

    this.#logStream = fs.createWriteStream(logPath);
    child.stdout.pipe(this.#logStream, { end: false });
    child.stderr.pipe(this.#logStream, { end: false });
    this.#exited = new Promise((resolve) => {
      child.once('error', (error) => {
        this.exitStatus = `failed to start: ${error.message}`;
        resolve();
      });
      child.once('exit', (code, signal) => {
        this.exitStatus = signal ? `signal ${signal}` : `exit code ${code}`;
        resolve();
      });
    });
    // Keeps a server from outliving a test process that ends without running its hooks.
    this.onProcessExit = () => child.kill('SIGKILL');
    process.once('exit', this.onProcessExit);
  }

  get running() {
    return this.exitStatus === null;
  }

  /** Returns the last `maxChars` characters of the server's output so far. */
  logTail(maxChars = 4000) {
    const text = fs.existsSync(this.logPath) ? fs.readFileSync(this.logPath, 'utf8') : '';
    return text.slice(-maxChars);
  }

  /** Polls `GET /api/v1/health` until it returns `{"status": "ok"}`. */
  async waitHealthy(timeoutMs = HEALTH_TIMEOUT_MS) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(`server stopped at start (${this.exitStatus}):\n${this.logTail()}`);
      }
      if (await this.#healthy()) {
        return;
      }
      await sleep(100);
    }
    throw new Error(
      `server at ${this.baseUrl} not healthy after ${timeoutMs} ms:\n${this.logTail()}`,
    );
  }

  async #healthy() {
    try {
      const response = await fetch(`${this.baseUrl}/api/v1/health`);
      if (!response.ok) {
        return false;
      }
      const body = await response.json();
      return body.status === 'ok';
    } catch {
      return false;
    }
  }

  /**
   * Requests a token from `POST /api/dev/token` for a room of `kind`, `contest` or
   * `briefing`; returns `{token, identity, expires_at}`.
   */
  async devToken(room, name, role, kind = 'contest') {
    const response = await fetch(`${this.baseUrl}/api/dev/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ room, name, role, kind }),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`POST /api/dev/token for role ${role} failed: ${response.status} ${text}`);
    }
    const body = JSON.parse(text);
    if (typeof body.token !== 'string' || typeof body.identity !== 'string') {
      throw new Error(`POST /api/dev/token returned no token or identity: ${text}`);
    }
    return body;
  }

  /** Stops the server with SIGTERM, then SIGKILL after a grace period, and waits for it. */
  async stop() {
    process.removeListener('exit', this.onProcessExit);
    if (this.running) {
      this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), STOP_GRACE_MS);
      await this.#exited;
      clearTimeout(timer);
    }
    await new Promise((resolve) => this.#logStream.end(resolve));
  }

  /** Kills the server with SIGKILL, as a crash would, and waits for it to exit. */
  async kill() {
    process.removeListener('exit', this.onProcessExit);
    if (this.running) {
      this.#child.kill('SIGKILL');
      await this.#exited;
    }
    await new Promise((resolve) => this.#logStream.end(resolve));
  }

  /** Resolves when the process has exited. */
  exited() {
    return this.#exited;
  }

  /** Deletes the working directory. */
  removeDataDir() {
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * Starts the server on free loopback ports, with the web client from this repository and a
 * new temporary working directory. Call `waitHealthy` before using it.
 *
 * `env` adds settings such as `PROFSTAGE_RECORDING_SEGMENT_SECS`, and `args` command-line
 * flags such as `['--config', path]`. `dataDir` and the ports reuse those of an earlier
 * server, to restart it on the same spool and storage. `host` replaces 127.0.0.1 as the
 * address of HTTP and media; the ports are still chosen free on 127.0.0.1.
 */
export async function spawnServer({
  env = {},
  args = [],
  dataDir = null,
  httpPort = null,
  udpPort = null,
  host = HOST,
} = {}) {
  const binary = serverBinary();
  httpPort ??= await freeTcpPort();
  udpPort ??= await freeUdpPort();
  dataDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'profstage-e2e-'));
  const logPath = path.join(dataDir, `server-${Date.now()}.log`);

  const child = spawn(binary, args, {
    cwd: dataDir,
    env: serverEnvironment(host, httpPort, udpPort, env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new ServerProcess(child, { host, httpPort, udpPort, dataDir, logPath });
}

/**
 * Runs a command of the server binary, such as `create-organiser`, in `dataDir` with the
 * server's environment, so that it uses the database a server started there uses. `input`
 * goes to its standard input. Throws when it fails.
 */
export function runServerCommand(args, { dataDir, input = '' }) {
  const result = spawnSync(serverBinary(), args, {
    cwd: dataDir,
    env: serverEnvironment(HOST, 0, 0, {}),
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.status !== 0) {
    throw new Error(
      `profstage ${args[0]} failed (${result.error ?? `exit code ${result.status}`}):\n` +
        `${result.stdout}${result.stderr}`,
    );
  }
  return result;
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
