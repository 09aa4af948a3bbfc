// Recording end to end: a participant publishes from Chromium, the server records, and the
// recording is checked on disk with ffprobe and ffmpeg, through the review API and its access
// rules, and on the review page. Needs ffmpeg and ffprobe on PATH. Run from tests/e2e with
// `node --test recording.test.mjs`.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
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

const run = promisify(execFile);

const ROOM = 'hall-a';
const OTHER_ROOM = 'hall-b';
// Two rooms, so that an expert of the other room can be turned away. Rooms come only from
// the configuration file. In development mode the server generates its own token secret.
const CONFIG_TOML = `
[[rooms]]
id = "${ROOM}"
title = "Hall A"

[[rooms]]
id = "${OTHER_ROOM}"
title = "Hall B"
`;
const STORAGE_DIR = 'storage';
const SERVER_ENV = {
  PROFSTAGE_SIGNALLING_REJOIN_GRACE_SECS: '2',
  PROFSTAGE_STORAGE_BACKEND: 'local',
  PROFSTAGE_STORAGE_LOCAL_DIR: STORAGE_DIR,
};

// Display names that must never reach the audit log.
const PARTICIPANT_NAME = 'Камерова Ирина Львовна';
const EXPERT_NAME = 'Экспертов Пётр Ильич';

const PUBLISH_MS = 20_000;
const DURATION_TOLERANCE_S = 0.5;
const CAMERA_OFF_MS = 5_000;
const GAP_TOLERANCE_MS = 1_000;
const TEST_TIMEOUT_MS = 150_000;
const COMPLETE_TIMEOUT_MS = 40_000;

/** Requests `url` (absolute, or a path on the server) with an optional bearer token. */
async function request(stage, url, token = null) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const response = await fetch(new URL(url, stage.server.baseUrl), { headers });
  const body = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, body };
}

/** GETs JSON from the server and fails with the status and body unless it is 200. */
async function getJson(stage, url, token) {
  const { status, body } = await request(stage, url, token);
  assert.equal(status, 200, `GET ${url.split('?ticket=')[0]}: ${body.toString()}`);
  return JSON.parse(body.toString());
}

/** Returns the `/recordings/live` entry of `identity`, or null. */
async function liveEntry(stage, token, identity) {
  const live = await getJson(stage, `/api/v1/recordings/live?room=${ROOM}`, token);
  return live.participants.find((entry) => entry.participant === identity) ?? null;
}

function sourceState(entry, source) {
  return entry?.sources.find((candidate) => candidate.source === source)?.state ?? null;
}

/**
 * Waits until the server records a packet of the camera of `identity`. Returns the recording
 * id and the local times between which the first packet arrived: `notBefore`, when the last
 * poll that did not see it was sent, and `notAfter`, when the poll that saw it returned.
 */
async function waitForCameraRecording(stage, token, identity) {
  const deadline = Date.now() + 20_000;
  let notBefore = Date.now();
  for (;;) {
    const sentAt = Date.now();
    const entry = await liveEntry(stage, token, identity);
    if (sourceState(entry, 'camera') === 'recording') {
      return { id: entry.recording, firstPacket: { notBefore, notAfter: Date.now() } };
    }
    assert.ok(Date.now() < deadline, `the camera of ${identity} was not recorded within 20 s`);
    notBefore = sentAt;
    await sleep(100);
  }
}

async function waitForComplete(stage, token, id) {
  const list = await waitFor(
    `recording ${id} to be complete and uploaded`,
    () => getJson(stage, `/api/v1/recordings?room=${ROOM}`, token),
    (candidate) => {
      const found = candidate.recordings.find((recording) => recording.id === id);
      return found?.status === 'complete' && found.pending_upload === 0;
    },
    { timeoutMs: COMPLETE_TIMEOUT_MS, intervalMs: 250 },
  );
  return list.recordings.find((recording) => recording.id === id);
}

/** Writes `bytes` to a new file under the server's data folder and returns its path. */
function saveFile(stage, name, bytes) {
  const dir = path.join(stage.server.dataDir, 'e2e-downloads');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** Downloads the camera file of a manifest and returns its path. */
async function downloadCamera(stage, manifest, name) {
  const media = JSON.stringify(manifest.media);
  assert.ok(manifest.media?.camera, `manifest has no camera media: ${media}`);
  const { status, headers, body } = await request(stage, manifest.media.camera);
  assert.equal(status, 200, `camera.webm: ${body.toString().slice(0, 200)}`);
  assert.equal(headers.get('content-type'), 'video/webm');
  return saveFile(stage, name, body);
}

async function ffprobe(file, args) {
  const { stdout } = await run('ffprobe', ['-v', 'error', ...args, '-of', 'json', file]);
  return JSON.parse(stdout);
}

function sha256(bytes) {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** Returns the end of the media of the given sources, in ms from the recording's start. */
function mediaEndMs(manifest, sources) {
  const ends = manifest.segments
    .filter((segment) => sources.includes(segment.source))
    .map((segment) => segment.media_start_ms + segment.duration_ms);
  return Math.max(...ends);
}

function mediaStartMs(manifest, sources) {
  const starts = manifest.segments
    .filter((segment) => sources.includes(segment.source))
    .map((segment) => segment.media_start_ms);
  return Math.min(...starts);
}

/**
 * Stops sending the page's camera without a new offer, so that no camera packets reach the
 * server until `resumeCamera`. The camera's sender is the video sender whose track has no
 * `displaySurface`.
 */
function pauseCamera(page) {
  return page.evaluate(async () => {
    const sender = window.profstage.publisher
      .getSenders()
      .find((s) => s.track?.kind === 'video' && !('displaySurface' in s.track.getSettings()));
    // Kept on the page so that `resumeCamera` can put the same track back.
    window.pausedCamera = { sender, track: sender.track };
    await sender.replaceTrack(null);
  });
}

function resumeCamera(page) {
  return page.evaluate(async () => {
    const { sender, track } = window.pausedCamera;
    await sender.replaceTrack(track);
  });
}

/** Returns `window.profstage.review.state()` of a review page. */
function reviewState(review) {
  return review.page.evaluate(() => window.profstage.review.state());
}

function reviewTime(review) {
  return review.page.evaluate(() => window.profstage.review.currentTime());
}

/** Waits until the review page has loaded a recording and its files are ready to play. */
function waitForPlayer(review) {
  return waitInPage(review, 'the recording to load', () => {
    const recording = window.profstage.review.state().recording;
    return recording?.phase === 'ready' && recording.ready === true;
  });
}

describe('recording of a participant', () => {
  let stage;
  let configDir;
  let expert;
  // Set by the first test and used by the ones after it.
  let recorded = null;

  const requireRecording = (t) => {
    if (!recorded) {
      t.skip('the first test made no recording');
      return false;
    }
    return true;
  };

  before(async () => {
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'profstage-recording-config-'));
    const configPath = path.join(configDir, 'rooms.toml');
    fs.writeFileSync(configPath, CONFIG_TOML);
    stage = await Stage.open('recording', { env: SERVER_ENV, args: ['--config', configPath] });
    assert.equal(stage.room, ROOM, 'the test rooms were not loaded');
    expert = await stage.server.devToken(ROOM, EXPERT_NAME, 'expert');
  });

  after(async () => {
    await stage?.close();
    if (configDir) {
      fs.rmSync(configDir, { recursive: true, force: true });
    }
  });

  it('camera and microphone recorded for 20 s', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      const participant = await stage.openPage({
        label: 'participant',
        html: 'participant',
        role: 'participant',
        name: PARTICIPANT_NAME,
      });
      await joinAndPublish(participant.page);
      const { id, firstPacket } = await waitForCameraRecording(
        stage,
        expert.token,
        participant.identity,
      );
      await sleep(firstPacket.notAfter + PUBLISH_MS - Date.now());
      const leaveClickedAt = Date.now();
      await clickTestId(participant.page, 'leave');
      const leftBy = Date.now();
      // The camera published from its first packet until the leave click took effect, so
      // its real span lies between these two bounds, which the poll interval and the
      // click's latency separate.
      const publishedMinMs = leaveClickedAt - firstPacket.notAfter;
      const publishedMaxMs = leftBy - firstPacket.notBefore;

      const summary = await waitForComplete(stage, expert.token, id);
      const manifest = await getJson(stage, `/api/v1/recordings/${id}`, expert.token);
      assert.deepEqual(summary.sources, ['camera', 'microphone']);
      assert.equal(manifest.segments.length, summary.segments);
      assert.deepEqual(
        manifest.gaps.filter((gap) => gap.source === 'camera'),
        [],
        'a camera gap in a continuous publish',
      );

      // The export starts at the recording's start, not at the first frame, so that time t
      // in every file of a recording is the same moment of the session. The recording starts
      // when the server accepts the published tracks, and the first camera frame comes
      // media_start_ms later, after ICE, DTLS and the encoder's start (0.03 to 0.19 s in
      // trial runs). The file's duration counts that lead-in, so the camera's media span is
      // the duration minus the camera's media_start_ms. That span runs from the first camera
      // frame to the leave click, about PUBLISH_MS.
      const file = await downloadCamera(stage, manifest, 'camera.webm');
      const probe = await ffprobe(file, ['-show_format', '-show_streams']);
      const codecs = probe.streams.map((stream) => stream.codec_name).sort();
      assert.deepEqual(codecs, ['opus', 'vp8']);
      const durationS = Number(probe.format.duration);
      const cameraStartS = mediaStartMs(manifest, ['camera']) / 1000;
      const mediaSpanS = durationS - cameraStartS;
      t.diagnostic(
        `file ${durationS.toFixed(3)} s, first camera frame at ${cameraStartS.toFixed(3)} s, ` +
          `camera media ${mediaSpanS.toFixed(3)} s, ` +
          `published ${publishedMinMs} to ${publishedMaxMs} ms`,
      );
      assert.ok(
        Math.abs(publishedMinMs - PUBLISH_MS) <= 1_000,
        `the leave click came ${publishedMinMs} ms after the first packet, not ${PUBLISH_MS} ms`,
      );
      assert.ok(
        mediaSpanS >= publishedMinMs / 1000 - DURATION_TOLERANCE_S &&
          mediaSpanS <= publishedMaxMs / 1000 + DURATION_TOLERANCE_S,
        `media span ${mediaSpanS} s for ${publishedMinMs} to ${publishedMaxMs} ms published ` +
          `(file ${durationS} s, first camera frame at ${cameraStartS} s)`,
      );
      const seekErrors = await decodeErrors(file, {
        inputArgs: ['-ss', '10'],
        outputArgs: ['-frames:v', '1'],
      });
      assert.equal(seekErrors, '');

      const download = await request(stage, manifest.download);
      assert.equal(download.status, 200);
      assert.match(download.headers.get('content-disposition') ?? '', /^attachment/);
      assert.equal(sha256(download.body), sha256(fs.readFileSync(file)), 'download differs');

      const verify = await getJson(stage, `/api/v1/recordings/${id}/verify`, expert.token);
      assert.equal(verify.ok, true, `verify: ${JSON.stringify(verify.problems)}`);
      assert.equal(verify.segments_checked, manifest.segments.length);

      recorded = { id, manifest, participant };
    }),
  );

  it('stored segments match the manifest', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    if (!requireRecording(t)) {
      return;
    }
    await stage.step(async () => {
      const { manifest } = recorded;
      const storageRoot = path.join(stage.server.dataDir, STORAGE_DIR);
      for (const segment of manifest.segments) {
        const label = `${segment.source} segment ${segment.index}`;
        const file = path.join(storageRoot, ...segment.key.split('/'));
        assert.ok(fs.existsSync(file), `${label}: ${file} missing`);
        const bytes = fs.readFileSync(file);
        assert.equal(bytes.length, segment.size, `${label}: size`);
        assert.equal(sha256(bytes), segment.sha256, `${label}: sha256`);
        // The file's head (EBML header, seek head, info, tracks) tells a muxer's fault apart.
        const head = bytes.subarray(0, 320).toString('hex');
        assert.equal(await decodeErrors(file), '', `${label}: decoding; head ${head}`);
        if (segment.source === 'camera') {
          const frames = await ffprobe(file, [
            '-select_streams', 'v',
            '-show_frames',
            '-read_intervals', '%+#1',
            '-show_entries', 'frame=key_frame',
          ]);
          assert.equal(frames.frames?.[0]?.key_frame, 1, `${label}: first frame not a key frame`);
        }
      }
    });
  });

  it('only reviewers of the room get the recording', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    if (!requireRecording(t)) {
      return;
    }
    await stage.step(async () => {
      const { id, manifest } = recorded;
      const participant = await stage.server.devToken(ROOM, 'Участник Б.', 'participant');
      const outsider = await stage.server.devToken(OTHER_ROOM, 'Эксперт Б.', 'expert');
      const mediaPath = `/api/v1/recordings/${id}/media/camera.webm`;

      const byParticipant = {
        list: await request(stage, `/api/v1/recordings?room=${ROOM}`, participant.token),
        manifest: await request(stage, `/api/v1/recordings/${id}`, participant.token),
        media: await request(stage, mediaPath, participant.token),
      };
      for (const [what, response] of Object.entries(byParticipant)) {
        assert.equal(response.status, 403, `participant, ${what}: ${response.body}`);
      }

      const byOutsider = {
        manifest: await request(stage, `/api/v1/recordings/${id}`, outsider.token),
        media: await request(stage, mediaPath, outsider.token),
        verify: await request(stage, `/api/v1/recordings/${id}/verify`, outsider.token),
      };
      for (const [what, response] of Object.entries(byOutsider)) {
        assert.equal(response.status, 404, `expert of ${OTHER_ROOM}, ${what}: ${response.body}`);
      }
      const otherListUrl = `/api/v1/recordings?room=${OTHER_ROOM}`;
      const otherList = await getJson(stage, otherListUrl, outsider.token);
      assert.ok(!otherList.recordings.some((recording) => recording.id === id));

      const forged = new URL(manifest.media.camera, stage.server.baseUrl);
      forged.searchParams.set('ticket', crypto.randomBytes(16).toString('hex'));
      const withForgedTicket = await request(stage, forged.href);
      assert.equal(withForgedTicket.status, 401, `forged ticket: ${withForgedTicket.body}`);

      const auditPath = path.join(stage.server.dataDir, 'data', 'audit.jsonl');
      const auditText = fs.readFileSync(auditPath, 'utf8');
      const entries = auditText.trim().split('\n').map((line) => JSON.parse(line));
      for (const action of ['recording.view', 'recording.media', 'recording.download']) {
        const found = entries.find(
          (entry) =>
            entry.action === action && entry.actor === expert.identity && entry.recording === id,
        );
        assert.ok(found, `no ${action} entry by ${expert.identity} for ${id}`);
        assert.equal(found.participant, recorded.participant.identity);
        assert.equal(found.role, 'expert');
      }
      for (const name of [PARTICIPANT_NAME, EXPERT_NAME, 'Участник Б.', 'Эксперт Б.']) {
        assert.ok(!auditText.includes(name), `the audit log names ${name}`);
      }
    });
  });

  it('review page plays, seeks and speeds up', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    if (!requireRecording(t)) {
      return;
    }
    await stage.step(async () => {
      const { id } = recorded;
      const url = `${stage.server.baseUrl}/review.html#token=${expert.token}`;
      const review = await stage.browser.openPage('review', url);
      const row = review.page.locator(`[data-testid="recording-row"][data-id="${id}"]`);
      await row.waitFor({ state: 'visible', timeout: 15_000 });
      assert.equal(await row.getAttribute('data-status'), 'complete');
      await row.getByTestId('open-recording').click();

      const state = () => reviewState(review);
      const time = () => reviewTime(review);
      await waitForPlayer(review);
      const loaded = (await state()).recording;
      assert.equal(loaded.master, 'camera');
      assert.equal(loaded.sources.camera.failed, false, JSON.stringify(loaded.sources.camera));

      const segmentsShown = await review.page.evaluate(() => {
        const rows = document.querySelectorAll('.timeline-source[data-source]');
        return Object.fromEntries(
          [...rows].map((row) => [
            row.dataset.source,
            row.querySelectorAll('[data-testid="timeline-segment"]').length,
          ]),
        );
      });
      assert.ok(segmentsShown.camera >= 1, `timeline: ${JSON.stringify(segmentsShown)}`);
      assert.ok(segmentsShown.microphone >= 1, `timeline: ${JSON.stringify(segmentsShown)}`);

      // The live panel and the timeline name every state and event in the page's language,
      // and a task event shows none of the ids in its detail.
      const words = await review.page.evaluate(async () => {
        const format = await import('/js/recording-format.js');
        const detail = 'task=9ba7e1c2 submission=5d31aa07';
        return {
          ended: format.liveStateName('ended'),
          opened: format.eventName('task_opened'),
          answer: format.eventName('task_answer'),
          upload: format.eventName('task_upload'),
          timeUp: format.eventName('task_time_up'),
          openedDetail: format.eventDetail({ kind: 'task_opened', detail: 'task=9ba7e1c2' }),
          answerDetail: format.eventDetail({ kind: 'task_answer', detail: `${detail} kind=text` }),
          uploadDetail: format.eventDetail({ kind: 'task_upload', detail: `${detail} kind=pdf` }),
        };
      });
      assert.equal(words.ended, 'запись окончена');
      assert.equal(words.opened, 'Задание открыто');
      assert.equal(words.answer, 'Ответ на задание сохранён');
      assert.equal(words.upload, 'Файл к заданию загружен');
      assert.equal(words.timeUp, 'Время на задание вышло');
      assert.equal(words.openedDetail, null, 'an opening shows its task id');
      assert.equal(words.answerDetail, null, 'an answer shows its ids');
      assert.equal(words.uploadDetail, 'PDF', 'an upload shows the kind of its file');

      await clickTestId(review, 'play');
      await waitInPage(review, 'playback to pass 1 s', () =>
        window.profstage.review.currentTime() > 1,
      );

      // A seek forward lands near its target, and playback goes on from there.
      await review.page.evaluate(() => window.profstage.review.seek(12));
      await waitInPage(review, 'the seek to 12 s', () => {
        const seconds = window.profstage.review.currentTime();
        return seconds >= 11.5 && seconds < 14;
      });
      const afterSeek = await time();
      await sleep(1_500);
      const later = await time();
      assert.ok(later - afterSeek >= 0.5, `after the seek: ${afterSeek} s, then ${later} s`);
      assert.equal((await state()).recording.paused, false);

      // At 8x, one second of wall clock covers about 8 s. The bounds allow for a slow start
      // and for timer jitter, but still tell 8x from 1x and from a stall.
      await review.page.evaluate(() => window.profstage.review.seek(2));
      await waitInPage(review, 'the seek to 2 s', () => {
        const seconds = window.profstage.review.currentTime();
        return seconds >= 1.5 && seconds < 4;
      });
      const rate = await review.page.evaluate(() => window.profstage.review.setRate(8));
      assert.equal(rate, 8);
      const fastFrom = await time();
      const fastStart = Date.now();
      await sleep(1_000);
      const fastTo = await time();
      const speed = (fastTo - fastFrom) / ((Date.now() - fastStart) / 1000);
      t.diagnostic(
        `8x playback: ${fastFrom.toFixed(2)} s to ${fastTo.toFixed(2)} s, ${speed.toFixed(1)}x`,
      );
      assert.ok(speed >= 4, `at rate 8 playback ran at ${speed}x`);
      assert.ok(speed <= 12, `at rate 8 playback ran at ${speed}x`);
    });
  });

  it(
    'review page seeks back to the start',
    // GStreamer 1.22's webmmux flags only video blocks as keyframes and indexes only video
    // in the cues, so Chromium cannot seek the export to before its first video frame. The
    // player therefore clamps seeks to the first video frame; this checks a seek to 0 lands
    // there and plays on.
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      if (!requireRecording(t)) {
        return;
      }
      const { id } = recorded;
      const params = new URLSearchParams({ token: expert.token, recording: id });
      const url = `${stage.server.baseUrl}/review.html#${params}`;
      const review = await stage.browser.openPage('review-start', url);
      await waitForPlayer(review);
      await clickTestId(review, 'play');
      await waitInPage(review, 'playback to pass 2 s', () =>
        window.profstage.review.currentTime() > 2,
      );

      await review.page.evaluate(() => window.profstage.review.seek(0));
      await sleep(1_500);
      const camera = await review.page.evaluate(() => {
        const video = document.querySelector('[data-testid="video-camera"]');
        return { time: video.currentTime, seeking: video.seeking, error: video.error?.message };
      });
      assert.equal(camera.error, undefined, `the seek to 0 failed: ${camera.error}`);
      assert.equal(camera.seeking, false, 'the seek to 0 never finished');
      assert.ok(camera.time > 0.5, `1.5 s after the seek to 0 the camera is at ${camera.time} s`);
    },
  );

  it('camera off for 5 s leaves a gap', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      const participant = await stage.openPage({
        label: 'participant-gap',
        html: 'participant',
        role: 'participant',
        name: 'Пауза Олег',
      });
      await joinAndPublish(participant.page);
      const { id, firstPacket } = await waitForCameraRecording(
        stage,
        expert.token,
        participant.identity,
      );
      await sleep(6_000);
      await pauseCamera(participant.page.page);
      const pausedAt = Date.now();
      await waitFor(
        'the camera to show a gap',
        () => liveEntry(stage, expert.token, participant.identity),
        (entry) => sourceState(entry, 'camera') === 'gap',
        { timeoutMs: CAMERA_OFF_MS, intervalMs: 200 },
      );
      await sleep(pausedAt + CAMERA_OFF_MS - Date.now());
      await resumeCamera(participant.page.page);
      await waitFor(
        'the camera to be recorded again',
        () => liveEntry(stage, expert.token, participant.identity),
        (entry) => sourceState(entry, 'camera') === 'recording',
        { timeoutMs: 10_000, intervalMs: 100 },
      );
      await sleep(6_000);
      const leaveClickedAt = Date.now();
      await clickTestId(participant.page, 'leave');
      const publishedMinMs = leaveClickedAt - firstPacket.notAfter;
      const publishedMaxMs = Date.now() - firstPacket.notBefore;

      await waitForComplete(stage, expert.token, id);
      const manifest = await getJson(stage, `/api/v1/recordings/${id}`, expert.token);
      const cameraGaps = manifest.gaps.filter((gap) => gap.source === 'camera');
      assert.equal(cameraGaps.length, 1, `camera gaps: ${JSON.stringify(manifest.gaps)}`);
      const [gap] = cameraGaps;
      const gapMs = gap.to_unix_ms - gap.from_unix_ms;
      t.diagnostic(`camera gap ${gapMs} ms (${gap.reason})`);
      assert.ok(
        Math.abs(gapMs - CAMERA_OFF_MS) <= GAP_TOLERANCE_MS,
        `camera gap of ${gapMs} ms for ${CAMERA_OFF_MS} ms off`,
      );
      assert.deepEqual(
        manifest.gaps.filter((candidate) => candidate.source === 'microphone'),
        [],
        'the microphone ran on, so it has no gap',
      );
      const cameraAfter = manifest.segments.filter(
        (segment) => segment.source === 'camera' && segment.started_unix_ms >= gap.to_unix_ms - 100,
      );
      assert.ok(cameraAfter.length >= 1, 'no camera segment after the gap');

      // The review timeline names the gap's reason in the page's language.
      const params = new URLSearchParams({ token: expert.token, recording: id });
      const review = await stage.browser.openPage(
        'review-gap',
        `${stage.server.baseUrl}/review.html#${params}`,
      );
      await waitInPage(review, 'the camera gap on the timeline', () =>
        document.querySelector('.timeline-source[data-source="camera"] .timeline-gap') !== null,
      );
      const gapShown = async (reason) => {
        const gaps = await review.page.evaluate(() =>
          [...document.querySelectorAll('.timeline-source[data-source="camera"] .timeline-gap')]
            .map((element) => ({ reason: element.dataset.reason, text: element.dataset.tooltip })),
        );
        assert.equal(gaps.length, 1, `gaps on the timeline: ${JSON.stringify(gaps)}`);
        assert.equal(gaps[0].reason, gap.reason);
        assert.ok(gaps[0].text.endsWith(`: ${reason}`), `gap tooltip: ${gaps[0].text}`);
      };
      await gapShown('медиа не поступало');
      await clickTestId(review, 'language');
      try {
        await gapShown('no media arrived');
      } finally {
        await clickTestId(review, 'language'); // the choice is kept for later pages
      }

      const file = await downloadCamera(stage, manifest, 'camera-gap.webm');
      const probe = await ffprobe(file, ['-show_format', '-show_streams']);
      const video = probe.streams.filter((stream) => stream.codec_type === 'video');
      assert.equal(video.length, 1, `video streams: ${JSON.stringify(video)}`);
      const durationS = Number(probe.format.duration);
      const endS = mediaEndMs(manifest, ['camera', 'microphone']) / 1000;
      const firstFrameS = mediaStartMs(manifest, ['camera', 'microphone']) / 1000;
      t.diagnostic(
        `file ${durationS.toFixed(3)} s, ` +
          `media ${firstFrameS.toFixed(3)} s to ${endS.toFixed(3)} s, ` +
          `published ${publishedMinMs} to ${publishedMaxMs} ms`,
      );
      assert.ok(
        Math.abs(durationS - endS) <= DURATION_TOLERANCE_S,
        `file ${durationS} s, manifest media ends at ${endS} s`,
      );
      const mediaSpanS = durationS - firstFrameS;
      assert.ok(
        mediaSpanS >= publishedMinMs / 1000 - DURATION_TOLERANCE_S &&
          mediaSpanS <= publishedMaxMs / 1000 + DURATION_TOLERANCE_S,
        `file ${durationS} s from ${firstFrameS} s for ${publishedMinMs} to ` +
          `${publishedMaxMs} ms published`,
      );

      // The video goes on after the gap: its last packet is past the gap's end.
      const gapEndS = (gap.to_unix_ms - manifest.started_unix_ms) / 1000;
      const packets = await ffprobe(file, [
        '-select_streams', 'v',
        '-show_entries', 'packet=pts_time',
      ]);
      const lastVideoS = Math.max(...packets.packets.map((packet) => Number(packet.pts_time)));
      assert.ok(
        lastVideoS > gapEndS + 3,
        `last video at ${lastVideoS} s, gap ends at ${gapEndS} s`,
      );
      const seekErrors = await decodeErrors(file, {
        inputArgs: ['-ss', String(gapEndS + 1)],
        outputArgs: ['-frames:v', '1'],
      });
      assert.equal(seekErrors, '');
    }),
  );
});
