// A server and a browser for one test file, torn down together. On failure the server log,
// each page's console and a screenshot of each page go to tests/e2e/artifacts/<name>/.

import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser } from './browser.mjs';
import { REPO_ROOT, spawnServer } from './server.mjs';

export const ARTIFACTS_ROOT = path.join(REPO_ROOT, 'tests', 'e2e', 'artifacts');

export class Stage {
  failed = false;

  constructor(name, server, browsers, room) {
    this.name = name;
    this.server = server;
    this.browsers = browsers;
    this.browser = browsers[0];
    this.room = room;
  }

  /**
   * Starts a server and a browser; `name` names the artifacts folder. `options` go to
   * `spawnServer`, for example `{env: {PROFSTAGE_RECORDING_SEGMENT_SECS: '2'}}`, except
   * `browsers`: a function that takes the started server and returns the `launchBrowser`
   * options of each browser to start. The first one is `stage.browser`.
   */
  static async open(name, { browsers = () => [{}], ...options } = {}) {
    const server = await spawnServer(options);
    const launched = [];
    try {
      await server.waitHealthy();
      for (const launchOptions of browsers(server)) {
        launched.push(await launchBrowser(launchOptions));
      }
      const room = await firstRoom(server);
      return new Stage(name, server, launched, room);
    } catch (error) {
      for (const browser of launched) {
        await browser.close();
      }
      await server.stop();
      saveServerLog(artifactsDir(name), server);
      server.removeDataDir();
      throw error;
    }
  }

  /**
   * Opens `<html>.html` (participant, expert or briefing) with a new token for `name` in
   * `role`, for a room of `kind` (`contest` or `briefing`). `label` names the page in the
   * artifacts; `fragment` adds parameters to the URL fragment, such as `{codec: 'vp9'}`.
   * `initScript` runs in the page before its own scripts, and `browser` is one of
   * `stage.browsers`, the first by default. Returns `{page, identity, token}`.
   */
  async openPage({
    label,
    html,
    role,
    name,
    kind = 'contest',
    fragment = {},
    initScript = null,
    browser = this.browser,
  }) {
    const { token, identity } = await this.server.devToken(this.room, name, role, kind);
    const params = new URLSearchParams({ token, ...fragment });
    const url = `${this.server.baseUrl}/${html}.html#${params}`;
    const page = await browser.openPage(label, url, { initScript });
    return { page, identity, token };
  }

  /** Runs `body` and records a failure for `close`. */
  async step(body) {
    try {
      return await body();
    } catch (error) {
      this.failed = true;
      throw error;
    }
  }

  /** Saves artifacts if a step failed, then stops the browsers and the server. */
  async close() {
    const dir = this.failed ? artifactsDir(this.name) : null;
    for (const browser of this.browsers) {
      if (dir) {
        await browser.saveArtifacts(dir);
      }
      await browser.close();
    }
    await this.server.stop();
    if (dir) {
      saveServerLog(dir, this.server);
      console.error(`e2e artifacts saved in ${dir}`);
    }
    this.server.removeDataDir();
  }
}

async function firstRoom(server) {
  const response = await fetch(`${server.baseUrl}/api/dev/rooms`);
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`GET /api/dev/rooms failed: ${response.status} ${text}`);
  }
  const rooms = JSON.parse(text);
  if (!Array.isArray(rooms) || typeof rooms[0]?.id !== 'string') {
    throw new Error(`GET /api/dev/rooms returned no room: ${text}`);
  }
  return rooms[0].id;
}

// Returns the artifacts folder of a test file, emptied and created on first use.
function artifactsDir(name) {
  const dir = path.join(ARTIFACTS_ROOT, name);
  if (!createdDirs.has(dir)) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    createdDirs.add(dir);
  }
  return dir;
}

const createdDirs = new Set();

function saveServerLog(dir, server) {
  fs.copyFileSync(server.logPath, path.join(dir, 'server.log'));
}
