// Launches Debian's Chromium through playwright-core with fake camera, microphone and
// screen, and keeps each page's console output for the failure artifacts.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

// Checked with Chromium 156.0.8078.114 from Debian 12, headless, as root:
// - --use-fake-ui-for-media-stream grants camera and microphone without a prompt, and makes
//   getDisplayMedia return a capture without a picker.
// - --use-fake-device-for-media-stream supplies a test-pattern camera, a beeping microphone
//   and, for getDisplayMedia, a 1280x720 "screen" with an audio track. Without it
//   getDisplayMedia fails with "NotReadableError: Could not start video source", because
//   headless Chromium has no display, and --auto-select-desktop-capture-source or
//   --auto-accept-this-tab-capture change nothing.
// - --autoplay-policy=no-user-gesture-required lets the expert page play sound without a
//   click. Chromium counts totalAudioEnergy and audioLevel of a received track only while
//   a media element plays it.
// - The networking flags keep Chromium from reaching for hosts outside this machine.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

/** One browser tab and what it wrote to its console. */
export class BrowserPage {
  constructor(name, page) {
    this.name = name;
    this.page = page;
    this.console = [];
    page.on('console', (message) => this.#record(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => this.#record(`uncaught: ${error.stack ?? error}`));
    page.on('crash', () => this.#record('page crashed'));
  }

  #record(line) {
    this.console.push(`${new Date().toISOString()} ${line}`);
  }

  /** Returns the text of the page's error banner, or null while the banner is hidden. */
  async errorBanner() {
    return this.page
      .evaluate(() => {
        const banner = document.querySelector('[data-testid="error"]');
        if (!banner || banner.hidden) {
          return null;
        }
        const text = banner.querySelector('.banner-text') ?? banner;
        return text.textContent.trim();
      })
      .catch(() => null);
  }

  /** Writes a screenshot and the console log into `dir`. */
  async saveArtifacts(dir) {
    fs.writeFileSync(path.join(dir, `${this.name}.console.log`), this.console.join('\n') + '\n');
    await this.page
      .screenshot({ path: path.join(dir, `${this.name}.png`), fullPage: true, timeout: 10_000 })
      .catch((error) => {
        fs.writeFileSync(path.join(dir, `${this.name}.screenshot-error.txt`), String(error));
      });
  }
}

/** A Chromium instance with a new, empty profile that is deleted on close. */
export class Browser {
  pages = [];

  constructor(context, userDataDir) {
    this.context = context;
    this.userDataDir = userDataDir;
  }

  /**
   * Opens `url` in a new tab, named `name` in the artifacts. `initScript`, a function, runs
   * in the page before any of its own scripts, for example to replace a browser API.
   */
  async openPage(name, url, { initScript = null } = {}) {
    const page = new BrowserPage(name, await this.context.newPage());
    this.pages.push(page);
    if (initScript) {
      await page.page.addInitScript(initScript);
    }
    await page.page.goto(url, { waitUntil: 'domcontentloaded' });
    return page;
  }

  async saveArtifacts(dir) {
    for (const page of this.pages) {
      await page.saveArtifacts(dir);
    }
  }

  async close() {
    await this.context.close().catch(() => {});
    fs.rmSync(this.userDataDir, { recursive: true, force: true });
  }
}

/**
 * Launches headless Chromium with a fresh `--user-data-dir`. `executablePath` replaces
 * Debian's Chromium, for example with a script that starts it in a network namespace, and
 * `args` adds flags.
 */
export async function launchBrowser({ executablePath = CHROMIUM_PATH, args = [] } = {}) {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} not found: install Debian's chromium package`);
  }
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'profstage-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS, ...args],
      viewport: { width: 1280, height: 800 },
    });
    return new Browser(context, userDataDir);
  } catch (error) {
    fs.rmSync(userDataDir, { recursive: true, force: true });
    throw error;
  }
}
