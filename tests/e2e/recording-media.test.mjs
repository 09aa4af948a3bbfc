// What the recording holds, checked against media whose timing is known in advance. The
// participant page publishes a canvas that flashes white and a tone that beeps at the same
// instants, so the exported camera.webm must keep flash and beep together. A second test
// resizes the canvas while publishing and checks the segments at each size and the export.
//
// The page's getUserMedia is replaced before the page's scripts run (an init script), so the
// app opens and publishes the synthetic tracks through its usual code. Needs ffmpeg and
// ffprobe on PATH. The downloaded files are kept, and their folder printed, when a test fails
// or KEEP_MEDIA is set.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { clickTestId, joinAndPublish, waitInPage } from './support/pages.mjs';
import { waitFor } from './support/poll.mjs';
import { decodeErrors } from './support/recordings.mjs';
import { sleep } from './support/server.mjs';
import { Stage } from './support/stage.mjs';
import { readSent } from './support/stats.mjs';

const run = promisify(execFile);

const TEST_TIMEOUT_MS = 180_000;
const STORAGE_DIR = 'storage';
const SERVER_ENV = {
  PROFSTAGE_SIGNALLING_REJOIN_GRACE_SECS: '2',
  PROFSTAGE_STORAGE_BACKEND: 'local',
  PROFSTAGE_STORAGE_LOCAL_DIR: STORAGE_DIR,
};

// The synthetic media: a flash and a beep every FLASH_PERIOD_S, each FLASH_LENGTH_S long.
const FLASH_PERIOD_S = 2;
const FLASH_LENGTH_S = 0.1;
const BEEP_HZ = 1000;
const BEEP_GAIN = 0.5;
const FIRST_FLASH_DELAY_S = 1;
const SCHEDULED_FLASHES = 300;
const CANVAS_WIDTH = 640;
const CANVAS_HEIGHT = 480;

const PUBLISH_MS = 15_000;
const MAX_MEDIAN_OFFSET_MS = 100;
const MAX_OFFSET_MS = 150;
// The flash is drawn on the first animation frame after the beep's start on the audio clock.
const MAX_IN_PAGE_SKEW_MS = 50;
const MIN_FLASHES = 5;

const SMALL = { width: 320, height: 240 };
const LARGE = { width: CANVAS_WIDTH, height: CANVAS_HEIGHT };
const SIZE_HOLD_MS = 5_000;
const MAX_SEGMENT_JOIN_MS = 300;
const MAX_DURATION_ERROR_MS = 500;

/**
 * Replaces `navigator.mediaDevices.getUserMedia` with one that returns a canvas video track
 * and a WebAudio track. Runs in the page before its scripts. Both tracks are timed by one
 * AudioContext: beeps are scheduled on its clock, and each animation frame paints the canvas
 * white while that clock is inside a beep. `window.syntheticMedia` exposes the flashes drawn
 * (with their lateness against the audio clock) and `resize(width, height)`.
 */
function installSyntheticMedia(options) {
  let media = null;

  function create() {
    const audio = new AudioContext({ sampleRate: 48_000 });
    const oscillator = audio.createOscillator();
    oscillator.frequency.value = options.beepHz;
    const gain = audio.createGain();
    gain.gain.value = 0;
    const destination = audio.createMediaStreamDestination();
    oscillator.connect(gain).connect(destination);
    oscillator.start();

    const firstBeep = audio.currentTime + options.firstDelayS;
    for (let k = 0; k < options.flashes; k += 1) {
      const at = firstBeep + k * options.periodS;
      gain.gain.setValueAtTime(options.gain, at);
      gain.gain.setValueAtTime(0, at + options.lengthS);
    }

    const canvas = document.createElement('canvas');
    canvas.width = options.width;
    canvas.height = options.height;
    const context = canvas.getContext('2d');
    const flashes = [];
    const frameIntervals = [];
    let lastFrame = null;

    const paint = (now) => {
      if (lastFrame !== null) {
        frameIntervals.push(now - lastFrame);
      }
      lastFrame = now;
      const since = audio.currentTime - firstBeep;
      const k = Math.floor(since / options.periodS);
      const intoFlash = since - k * options.periodS;
      const white = since >= 0 && intoFlash < options.lengthS;
      if (white && flashes.at(-1)?.k !== k) {
        flashes.push({ k, lateMs: intoFlash * 1000, atMs: performance.now() });
      }
      context.fillStyle = white ? '#ffffff' : '#000000';
      context.fillRect(0, 0, canvas.width, canvas.height);
      requestAnimationFrame(paint);
    };
    requestAnimationFrame(paint);

    const video = canvas.captureStream(options.frameRate).getVideoTracks()[0];
    const microphone = destination.stream.getAudioTracks()[0];
    let recorder = null;
    const chunks = [];
    window.syntheticMedia = {
      flashes,
      frameIntervals,
      audioState: () => audio.state,
      resize(width, height) {
        canvas.width = width;
        canvas.height = height;
      },
      // The browser's own WebM of both tracks, for comparison with the server's recording.
      startLocalRecording() {
        recorder = new MediaRecorder(new MediaStream([video, microphone]), {
          mimeType: 'video/webm;codecs=vp8,opus',
        });
        recorder.addEventListener('dataavailable', (event) => chunks.push(event.data));
        recorder.start();
      },
      async stopLocalRecording() {
        const stopped = new Promise((resolve) => recorder.addEventListener('stop', resolve));
        recorder.stop();
        await stopped;
        const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
        let binary = '';
        for (let i = 0; i < bytes.length; i += 0x8000) {
          binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        }
        return btoa(binary);
      },
    };
    return { audio, video, microphone };
  }

  navigator.mediaDevices.getUserMedia = async (constraints) => {
    media ??= create();
    await media.audio.resume();
    const tracks = [];
    if (constraints?.video) {
      tracks.push(media.video);
    }
    if (constraints?.audio) {
      tracks.push(media.microphone);
    }
    return new MediaStream(tracks);
  };
}

const SYNTHETIC_OPTIONS = {
  beepHz: BEEP_HZ,
  gain: BEEP_GAIN,
  periodS: FLASH_PERIOD_S,
  lengthS: FLASH_LENGTH_S,
  firstDelayS: FIRST_FLASH_DELAY_S,
  flashes: SCHEDULED_FLASHES,
  width: CANVAS_WIDTH,
  height: CANVAS_HEIGHT,
  frameRate: 30,
};

// ---- ffmpeg ---------------------------------------------------------------------------

const FFMPEG_BUFFER = 256 * 1024 * 1024;
const AUDIO_RATE = 48_000;
// Luma average (0-255) above which a frame counts as white.
const WHITE_LUMA = 128;
// A beep starts where the signal first exceeds this fraction of full scale after at least
// BEEP_QUIET_S of quiet.
const BEEP_THRESHOLD = 0.1;
const BEEP_QUIET_S = 0.5;

/** Returns `{ptsS, luma}` for every video frame of `file`, in decoding order. */
async function frameLuma(file) {
  const { stdout } = await run(
    'ffmpeg',
    [
      ...['-v', 'error', '-i', file, '-map', '0:v:0'],
      ...['-vf', 'signalstats,metadata=mode=print:key=lavfi.signalstats.YAVG:file=-'],
      ...['-f', 'null', '-'],
    ],
    { maxBuffer: FFMPEG_BUFFER },
  );
  const frames = [];
  let ptsS = null;
  for (const line of stdout.split('\n')) {
    const frame = line.match(/pts_time:(-?[\d.]+)/);
    if (frame) {
      ptsS = Number(frame[1]);
      continue;
    }
    const luma = line.match(/lavfi\.signalstats\.YAVG=([\d.]+)/);
    if (luma && ptsS !== null) {
      frames.push({ ptsS, luma: Number(luma[1]) });
    }
  }
  return frames;
}

/** Returns the times (s) of frames that are white after a dark frame. */
function flashOnsets(frames) {
  const onsets = [];
  for (let i = 1; i < frames.length; i += 1) {
    if (frames[i].luma > WHITE_LUMA && frames[i - 1].luma <= WHITE_LUMA) {
      onsets.push(frames[i].ptsS);
    }
  }
  return onsets;
}

/**
 * Decodes the first audio stream of `file` to mono 16-bit PCM whose first sample is at file
 * time 0: `aresample` pads the start with silence up to the first packet's timestamp.
 */
async function decodeAudio(file) {
  const { stdout } = await run(
    'ffmpeg',
    [
      ...['-v', 'error', '-i', file, '-map', '0:a:0'],
      ...['-af', 'aresample=async=1:first_pts=0', '-ac', '1', '-ar', String(AUDIO_RATE)],
      ...['-f', 's16le', '-'],
    ],
    { encoding: 'buffer', maxBuffer: FFMPEG_BUFFER },
  );
  return new Int16Array(stdout.buffer, stdout.byteOffset, Math.floor(stdout.length / 2));
}

/** Returns the times (s) at which the signal rises above the threshold after quiet. */
function beepOnsets(samples) {
  const threshold = BEEP_THRESHOLD * 32768;
  const quietSamples = BEEP_QUIET_S * AUDIO_RATE;
  const onsets = [];
  let lastLoud = -Infinity;
  for (let i = 0; i < samples.length; i += 1) {
    if (Math.abs(samples[i]) <= threshold) {
      continue;
    }
    if (i - lastLoud > quietSamples) {
      onsets.push(i / AUDIO_RATE);
    }
    lastLoud = i;
  }
  return onsets;
}

/** Returns the flash and beep pairs found in `file`, with their onsets in seconds. */
async function measureSync(file) {
  const flashes = flashOnsets(await frameLuma(file));
  const beeps = beepOnsets(await decodeAudio(file));
  return { flashes, beeps, pairs: pairOnsets(flashes, beeps) };
}

/** Pairs each flash with the nearest beep within half a period; returns the pairs in ms. */
function pairOnsets(flashes, beeps) {
  const pairs = [];
  for (const flash of flashes) {
    const nearest = beeps.reduce(
      (best, beep) => (Math.abs(beep - flash) < Math.abs(best - flash) ? beep : best),
      Infinity,
    );
    if (Math.abs(nearest - flash) < FLASH_PERIOD_S / 2) {
      pairs.push({
        flashMs: Math.round(flash * 1000),
        beepMs: Math.round(nearest * 1000),
        offsetMs: Math.round((nearest - flash) * 1000),
      });
    }
  }
  return pairs;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Returns the duration (ms) of `file` from its container header. */
async function containerDurationMs(file) {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file],
  ]);
  return Math.round(Number(stdout.trim()) * 1000);
}

/** Returns the flags of the first video packet of `file` (`K` marks a keyframe). */
async function firstPacketFlags(file) {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-select_streams', 'v:0', '-read_intervals', '%+#1'],
    ...['-show_entries', 'packet=flags', '-of', 'csv=p=0', file],
  ]);
  return stdout.trim().split('\n')[0] ?? '';
}

// ---- recordings API -------------------------------------------------------------------

async function getJson(stage, token, route) {
  const response = await fetch(`${stage.server.baseUrl}${route}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const text = await response.text();
  assert.equal(response.status, 200, `GET ${route}: ${text}`);
  return JSON.parse(text);
}

/** Waits until the recording of `identity` is complete and every segment is uploaded. */
async function waitForCompleteRecording(stage, token, identity) {
  const route = `/api/v1/recordings?room=${encodeURIComponent(stage.room)}`;
  const list = await waitFor(
    `the recording of ${identity} to complete and upload`,
    () => getJson(stage, token, route),
    (body) =>
      body.recordings.some(
        (r) => r.participant === identity && r.status === 'complete' && r.pending_upload === 0,
      ),
    { timeoutMs: 30_000, intervalMs: 500 },
  );
  const { id } = list.recordings.find((r) => r.participant === identity);
  return getJson(stage, token, `/api/v1/recordings/${id}`);
}

/** Downloads the exported camera file (camera video with microphone audio) into `dir`. */
async function downloadCamera(stage, token, manifest, dir) {
  const route = `/api/v1/recordings/${manifest.recording}/media/camera.webm`;
  const response = await fetch(`${stage.server.baseUrl}${route}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(response.status, 200, `GET ${route}`);
  const file = path.join(dir, 'camera.webm');
  fs.writeFileSync(file, Buffer.from(await response.arrayBuffer()));
  return file;
}

function segmentPath(stage, segment) {
  return path.join(stage.server.dataDir, STORAGE_DIR, segment.key);
}

function cameraSegments(manifest) {
  return manifest.segments
    .filter((segment) => segment.source === 'camera')
    .sort((a, b) => a.media_start_ms - b.media_start_ms);
}

/** Returns, for each segment after the first, its start minus the previous one's end (ms). */
function segmentJoins(segments) {
  return segments.slice(1).map((segment, i) => {
    const previous = segments[i];
    return segment.media_start_ms - (previous.media_start_ms + previous.duration_ms);
  });
}

// ---- the page -------------------------------------------------------------------------

async function openParticipant(stage, label) {
  const opened = await stage.openPage({
    label,
    html: 'participant',
    role: 'participant',
    name: label,
  });
  await waitInPage(
    opened.page,
    'the synthetic camera and microphone to start',
    () => window.syntheticMedia?.audioState() === 'running',
  );
  return opened;
}

async function expertToken(stage) {
  const { token } = await stage.server.devToken(stage.room, 'Эксперт', 'expert');
  return token;
}

async function readFlashes(participant) {
  return participant.page.evaluate(() => {
    const intervals = window.syntheticMedia.frameIntervals;
    return {
      flashes: window.syntheticMedia.flashes,
      meanFrameMs: intervals.reduce((sum, ms) => sum + ms, 0) / Math.max(intervals.length, 1),
    };
  });
}

async function resizeCanvas(participant, { width, height }) {
  await participant.page.evaluate(
    ({ width, height }) => window.syntheticMedia.resize(width, height),
    { width, height },
  );
  await waitFor(
    `the camera to be sent at ${width}x${height}`,
    () => readSent(participant.page),
    (sent) => sent.camera?.frameWidth === width && sent.camera?.frameHeight === height,
  );
}

describe('recorded media against known timing', () => {
  let stage;
  let workDir;

  before(async () => {
    stage = await Stage.open('recording-media', { env: SERVER_ENV });
    await stage.browser.context.addInitScript(installSyntheticMedia, SYNTHETIC_OPTIONS);
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'profstage-recording-media-'));
  });

  after(async () => {
    const keepFiles = stage?.failed || Boolean(process.env.KEEP_MEDIA);
    await stage?.close();
    if (workDir && keepFiles) {
      console.error(`downloaded media kept in ${workDir}`);
    } else if (workDir) {
      fs.rmSync(workDir, { recursive: true, force: true });
    }
  });

  it('export keeps beeps with flashes', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const { page: participant, identity } = await openParticipant(stage, 'Синхрон');
      await joinAndPublish(participant);
      await participant.page.evaluate(() => window.syntheticMedia.startLocalRecording());
      await sleep(PUBLISH_MS);
      const local = await participant.page.evaluate(() =>
        window.syntheticMedia.stopLocalRecording(),
      );
      await clickTestId(participant, 'leave');
      const drawn = await readFlashes(participant);

      const token = await expertToken(stage);
      const manifest = await waitForCompleteRecording(stage, token, identity);
      const dir = fs.mkdtempSync(path.join(workDir, 'sync-'));
      const file = await downloadCamera(stage, token, manifest, dir);
      const localFile = path.join(dir, 'browser.webm');
      fs.writeFileSync(localFile, Buffer.from(local, 'base64'));

      const starts = manifest.segments.map((s) => `${s.source}@${s.media_start_ms}`);
      console.log(`segments: ${starts.join(' ')}`);
      const { flashes, beeps, pairs } = await measureSync(file);
      const offsets = pairs.map((pair) => pair.offsetMs);
      const skews = drawn.flashes.map((flash) => Math.round(flash.lateMs));
      const browserOffsets = (await measureSync(localFile)).pairs.map((pair) => pair.offsetMs);
      console.log(
        `flashes drawn late by (ms): ${skews.join(' ')}; ` +
          `mean animation frame ${drawn.meanFrameMs.toFixed(1)} ms`,
      );
      console.log(`flash onsets (s): ${flashes.map((t) => t.toFixed(3)).join(' ')}`);
      console.log(`beep onsets (s): ${beeps.map((t) => t.toFixed(3)).join(' ')}`);
      console.log(`beep minus flash (ms): ${offsets.join(' ')}; median ${median(offsets)}`);
      console.log(
        `in the browser's own MediaRecorder file (ms): ${browserOffsets.join(' ')}; ` +
          `median ${median(browserOffsets)}`,
      );

      for (const skew of skews) {
        assert.ok(skew <= MAX_IN_PAGE_SKEW_MS, `a flash was drawn ${skew} ms after its beep`);
      }
      assert.ok(flashes.length >= MIN_FLASHES, `${flashes.length} flashes found in camera.webm`);
      assert.ok(beeps.length >= MIN_FLASHES, `${beeps.length} beeps found in camera.webm`);
      assert.ok(
        pairs.length >= MIN_FLASHES,
        `${pairs.length} of ${flashes.length} flashes have a beep within a second`,
      );
      const medianOffset = median(offsets);
      assert.ok(
        Math.abs(medianOffset) <= MAX_MEDIAN_OFFSET_MS,
        `median beep minus flash is ${medianOffset} ms`,
      );
      for (const pair of pairs) {
        assert.ok(
          Math.abs(pair.offsetMs) <= MAX_OFFSET_MS,
          `the beep at ${pair.beepMs} ms is ${pair.offsetMs} ms from the flash at ` +
            `${pair.flashMs} ms`,
        );
      }
      await participant.page.close();
    }),
  );

  it('resolution change keeps segments whole', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const { page: participant, identity } = await openParticipant(stage, 'Размер');
      await joinAndPublish(participant);
      await sleep(SIZE_HOLD_MS);
      await resizeCanvas(participant, SMALL);
      await sleep(SIZE_HOLD_MS);
      await resizeCanvas(participant, LARGE);
      await sleep(SIZE_HOLD_MS);
      await clickTestId(participant, 'leave');
      const leftUnixMs = Date.now();

      const token = await expertToken(stage);
      const manifest = await waitForCompleteRecording(stage, token, identity);
      const segments = cameraSegments(manifest);
      const sizes = segments.map((s) => `${s.width}x${s.height}@${s.media_start_ms}`);
      console.log(`camera segments: ${sizes.join(' ')}`);

      for (const size of [SMALL, LARGE]) {
        assert.ok(
          segments.some((s) => s.width === size.width && s.height === size.height),
          `no camera segment at ${size.width}x${size.height}: ${sizes.join(' ')}`,
        );
      }
      const dir = fs.mkdtempSync(path.join(workDir, 'resize-'));
      for (const segment of segments) {
        const stored = segmentPath(stage, segment);
        assert.ok(fs.existsSync(stored), `segment ${segment.index} is not in storage: ${stored}`);
        const file = path.join(dir, path.basename(stored));
        fs.copyFileSync(stored, file);
        assert.equal(await decodeErrors(file), '', `segment ${segment.index} decodes with errors`);
        const flags = await firstPacketFlags(file);
        assert.ok(flags.startsWith('K'), `segment ${segment.index} starts with flags ${flags}`);
      }
      const joins = segmentJoins(segments);
      console.log(`time from a camera segment's end to the next one's start (ms): ${joins}`);
      for (let i = 1; i < segments.length; i += 1) {
        const join = joins[i - 1];
        assert.ok(
          Math.abs(join) <= MAX_SEGMENT_JOIN_MS,
          `segment ${segments[i].index} starts ${join} ms after segment ` +
            `${segments[i - 1].index} ends`,
        );
      }

      const file = await downloadCamera(stage, token, manifest, dir);
      assert.equal(await decodeErrors(file), '', 'camera.webm decodes with errors');
      const durationMs = await containerDurationMs(file);
      const sessionMs = leftUnixMs - manifest.started_unix_ms;
      console.log(`camera.webm lasts ${durationMs} ms; the session ${sessionMs} ms`);
      assert.ok(
        Math.abs(durationMs - sessionMs) <= MAX_DURATION_ERROR_MS,
        `camera.webm lasts ${durationMs} ms, the session ${sessionMs} ms`,
      );
      await participant.page.close();
    }),
  );
});
