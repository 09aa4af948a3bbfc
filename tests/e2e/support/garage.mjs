// Starts and stops a single-node Garage (an S3-compatible object store) on 127.0.0.1 through
// scripts/garage, for tests that record to S3 storage.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './server.mjs';

const run = promisify(execFile);

const SCRIPT = path.join(REPO_ROOT, 'scripts', 'garage');
// scripts/garage waits up to 30 s for the node to respond and 10 s for it to stop. The
// first start also applies the layout and creates the bucket and key.
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 30_000;
// The exit status of scripts/garage when no garage binary is installed.
const EXIT_NOT_INSTALLED = 3;

/** A Garage node whose config, data and log live in `dir`. */
export class GarageNode {
  constructor(dir) {
    this.dir = dir;
    this.env = {};
  }

  /** Creates a node in a new temporary folder and starts it. */
  static async start() {
    const node = new GarageNode(fs.mkdtempSync(path.join(os.tmpdir(), 'profstage-garage-')));
    try {
      await node.restart();
    } catch (error) {
      node.removeDir();
      throw error;
    }
    return node;
  }

  /**
   * Starts the node, reusing the ports, data and key of an earlier start in the same
   * folder, and reads the server's storage settings from the script's output.
   */
  async restart() {
    const output = await runScript(['start', this.dir], START_TIMEOUT_MS);
    this.env = parseExports(output);
    if (this.env.PROFSTAGE_STORAGE_BACKEND !== 's3' || !this.env.PROFSTAGE_STORAGE_S3_ENDPOINT) {
      throw new Error(`scripts/garage start printed no S3 settings:\n${output}`);
    }
  }

  /** Stops the node and keeps its folder for a restart. */
  async stop() {
    await runScript(['stop', this.dir], STOP_TIMEOUT_MS);
  }

  /** Returns the last `maxChars` characters of Garage's log. */
  logTail(maxChars = 4000) {
    const logPath = path.join(this.dir, 'garage.log');
    const text = fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '';
    return text.slice(-maxChars);
  }

  /** Deletes the node's folder. Stop the node first. */
  removeDir() {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

async function runScript(args, timeoutMs) {
  try {
    const { stdout } = await run(SCRIPT, args, { timeout: timeoutMs });
    return stdout;
  } catch (error) {
    if (error.code === EXIT_NOT_INSTALLED) {
      throw new Error('garage is not installed: run scripts/garage install');
    }
    throw new Error(`scripts/garage ${args.join(' ')} failed: ${error.message}\n${error.stderr}`);
  }
}

// Reads `export NAME=value` lines into an object.
function parseExports(output) {
  const env = {};
  for (const line of output.split('\n')) {
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) {
      env[match[1]] = match[2];
    }
  }
  return env;
}
