// Recording when things go wrong: the server is killed, storage goes away for a while, the
// server is stopped, and a participant publishes a camera that sends nothing. Each test
// starts its own server; the storage outage test also starts Garage through scripts/garage.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { GarageNode } from './support/garage.mjs';
import { clickTestId, joinAndPublish, waitInPage } from './support/pages.mjs';
import { pollUntil, waitFor } from './support/poll.mjs';
import {
  RecordingApi,
  lastSegmentEnd,
  listFiles,
  probeDuration,
  spoolFolder,
  storedFolder,
} from './support/recordings.mjs';
import { sleep, spawnServer } from './support/server.mjs';
import { Stage } from './support/stage.mjs';
import { readSent } from './support/stats.mjs';

const SEGMENT_MS = 2_000;
// How often the recorder hands open journals to the OS (TICK in recording/worker.rs).
const FLUSH_MS = 100;
const NO_MEDIA_SECS = 3;
// One token secret for every server of this file. Without it each server signs its dev
// tokens with a random key, and a restarted server rejects the tokens of the first.
const TOKEN_SECRET = randomBytes(32).toString('hex');
const SETTINGS = {
  PROFSTAGE_RECORDING_SEGMENT_SECS: String(SEGMENT_MS / 1000),
  PROFSTAGE_SIGNALLING_REJOIN_GRACE_SECS: '2',
  PROFSTAGE_RECORDING_NO_MEDIA_SECS: String(NO_MEDIA_SECS),
  PROFSTAGE_AUTH_TOKEN_SECRET: TOKEN_SECRET,
};
const RECORDED_SOURCES = ['camera', 'microphone'];
// Packets reach the server a little after the test reads its clock before a kill or stop.
const CLOCK_SLACK_MS = 500;
// Where a segment may start after the previous one of the same source ends, in either
// direction, without counting as a gap.
const CONTIGUITY_MS = 300;
const OUTAGE_MS = 30_000;
const BACKLOG_METRIC = 'profstage_recording_upload_backlog_segments';

/** Opens a participant page, joins, publishes camera and microphone, and waits for both. */
async function publishParticipant(stage, api, label) {
  const { page, identity } = await stage.openPage({
    label,
    html: 'participant',
    role: 'participant',
    name: label,
  });
  await joinAndPublish(page);
  const recording = await waitForLiveSources(api, stage.room, identity, RECORDED_SOURCES);
  return { page, identity, recording: recording.recording };
}

/** Waits until the live endpoint shows `identity` recording every one of `sources`. */
async function waitForLiveSources(api, room, identity, sources) {
  const find = (live) => live.participants.find((p) => p.participant === identity);
  const live = await waitFor(
    `the recording of ${identity} to record ${sources.join(' and ')}`,
    () => api.live(room),
    (live) =>
      sources.every((source) =>
        find(live)?.sources.some((s) => s.source === source && s.state === 'recording'),
      ),
  );
  return find(live);
}

/** Waits until the manifest's status is `status` and the recording's spool folder is gone. */
async function waitForUploadedRecording(api, dataDir, id, status, timeoutMs = 30_000) {
  const folder = spoolFolder(dataDir, id);
  const settled = await pollUntil(
    async () => ({ manifest: await api.manifest(id), spooled: fs.existsSync(folder) }),
    ({ manifest, spooled }) => manifest.status === status && !spooled,
    { timeoutMs, intervalMs: 500 },
  );
  assert.equal(settled.manifest.status, status, `status of recording ${id}`);
  assert.equal(settled.spooled, false, `spool folder ${folder} still exists`);
  return settled.manifest;
}

/** Asserts that verification reads every segment and finds them intact. */
async function assertVerified(api, manifest) {
  const report = await api.verify(manifest.recording);
  assert.deepEqual(report.problems, [], 'verification problems');
  assert.equal(report.ok, true, 'verification result');
  assert.equal(report.segments_checked, manifest.segments.length, 'segments verified');
}

/** Returns the segments of `source`, in order of their start in the recording. */
function segmentsOf(manifest, source) {
  return manifest.segments
    .filter((segment) => segment.source === source)
    .sort((a, b) => a.media_start_ms - b.media_start_ms);
}

// Names the `source/index` of each journal or segment file in a spool or storage listing.
function segmentNames(files) {
  return files
    .map((file) => /^([a-z-]+)\/(\d{6})\.(rtpj|webm)$/.exec(file))
    .filter(Boolean)
    .map((match) => `${match[1]}/${Number(match[2])}`);
}

function manifestSegmentNames(manifest) {
  return manifest.segments.map((segment) => `${segment.source}/${segment.index}`);
}

/** Returns an `initScript` that makes getUserMedia return a camera that sends nothing. */
function silentCameraScript() {
  return () => {
    navigator.mediaDevices.getUserMedia = async (constraints) => {
      if (!constraints?.video) {
        throw new DOMException('this test page has no microphone', 'NotFoundError');
      }
      // A canvas stream with frame rate 0 produces a frame only when the canvas is drawn
      // on or requestFrame() is called, and this one never is.
      const canvas = document.createElement('canvas');
      canvas.width = 320;
      canvas.height = 240;
      return canvas.captureStream(0);
    };
  };
}

describe('recording through failures', () => {
  it('recording survives kill -9', { timeout: 120_000 }, async (t) => {
    const stage = await Stage.open('recording-crash-kill', { env: SETTINGS });
    try {
      await stage.step(async () => {
        const { dataDir } = stage.server;
        const api = await RecordingApi.as(stage.server, stage.room);
        const { identity, recording } = await publishParticipant(stage, api, 'participant');
        await sleep(9_000);

        const spooled = listFiles(spoolFolder(dataDir, recording));
        const stored = listFiles(storedFolder(dataDir, stage.room, identity, recording));
        const killedAt = Date.now();
        await stage.server.kill();
        t.diagnostic(`in the spool at the kill: ${spooled.join(', ')}`);
        t.diagnostic(`in storage at the kill: ${stored.join(', ')}`);
        for (const source of RECORDED_SOURCES) {
          assert.ok(
            spooled.some((file) => file.startsWith(`${source}/`) && file.endsWith('.rtpj')),
            `no open ${source} journal in the spool at the kill: ${spooled.join(', ')}`,
          );
        }

        stage.server = await spawnServer({ dataDir, env: SETTINGS });
        await stage.server.waitHealthy();
        const restartedApi = await RecordingApi.as(stage.server, stage.room);
        const manifest = await waitForUploadedRecording(
          restartedApi,
          dataDir,
          recording,
          'interrupted',
        );

        const listed = manifestSegmentNames(manifest);
        for (const name of segmentNames([...spooled, ...stored])) {
          assert.ok(listed.includes(name), `segment ${name} is not in the manifest`);
        }
        for (const source of RECORDED_SOURCES) {
          const end = lastSegmentEnd(manifest, source);
          assert.ok(end !== null, `no ${source} segment`);
          const shortBy = killedAt - end;
          t.diagnostic(`the last ${source} segment ends ${shortBy} ms before the kill`);
          assert.ok(
            shortBy <= SEGMENT_MS + FLUSH_MS,
            `${source} ends ${shortBy} ms before the kill, more than a segment and a flush`,
          );
          assert.ok(shortBy >= -CLOCK_SLACK_MS, `${source} ends ${-shortBy} ms after the kill`);
        }
        await assertVerified(restartedApi, manifest);

        const file = path.join(dataDir, 'camera.webm');
        await restartedApi.download(manifest.media.camera, file);
        const duration = await probeDuration(file);
        const recordedMs = killedAt - manifest.started_unix_ms;
        t.diagnostic(`camera.webm lasts ${duration} s, the kill came ${recordedMs / 1000} s in`);
        const expected = (recordedMs - SEGMENT_MS - CLOCK_SLACK_MS) / 1000;
        assert.ok(duration >= expected, `camera.webm lasts ${duration} s, not ${expected} s`);
      });
    } finally {
      await stage.close();
    }
  });

  it('recording survives storage outage', { timeout: 240_000 }, async (t) => {
    const garage = await GarageNode.start();
    let stage = null;
    try {
      stage = await Stage.open('recording-crash-outage', { env: { ...SETTINGS, ...garage.env } });
      await stage.step(async () => {
        const { dataDir } = stage.server;
        const api = await RecordingApi.as(stage.server, stage.room);
        const { page, identity, recording } = await publishParticipant(stage, api, 'participant');
        await sleep(5_000);

        const endpoint = garage.env.PROFSTAGE_STORAGE_S3_ENDPOINT;
        await garage.stop();
        const outageStart = Date.now();
        const outageEnd = outageStart + OUTAGE_MS;
        const backlog = await waitFor(
          'the upload backlog to grow while storage is away',
          () => api.metric(BACKLOG_METRIC),
          (segments) => segments > 0,
          { timeoutMs: OUTAGE_MS - 5_000, intervalMs: 500 },
        );
        const pending = await waitFor(
          'the live endpoint to show segments waiting for upload',
          async () => {
            const live = await api.live(stage.room);
            return live.participants.find((p) => p.participant === identity)?.pending_upload;
          },
          (segments) => segments > 0,
          { timeoutMs: Math.max(outageEnd - Date.now() - 1_000, 1_000), intervalMs: 500 },
        );
        t.diagnostic(`during the outage: backlog ${backlog} segments, pending ${pending}`);
        await sleep(Math.max(outageEnd - Date.now(), 0));
        const backlogAtEnd = await api.metric(BACKLOG_METRIC);
        assert.ok(backlogAtEnd > 0, `backlog at the end of the outage: ${backlogAtEnd}`);

        await garage.restart();
        const restartedAt = Date.now();
        assert.equal(garage.env.PROFSTAGE_STORAGE_S3_ENDPOINT, endpoint, 'S3 endpoint');
        await waitFor(
          'the upload backlog to return to 0 after storage is back',
          () => api.metric(BACKLOG_METRIC),
          (segments) => segments === 0,
          { timeoutMs: 60_000, intervalMs: 500 },
        );
        t.diagnostic(
          `backlog ${backlogAtEnd} segments at the end of the outage, ` +
            `uploaded ${Date.now() - restartedAt} ms after storage came back`,
        );

        await clickTestId(page, 'leave');
        const manifest = await waitForUploadedRecording(api, dataDir, recording, 'complete');
        const notUploaded = manifest.segments.filter((segment) => !segment.uploaded);
        assert.deepEqual(manifestSegmentNames({ segments: notUploaded }), [], 'not uploaded');
        await assertVerified(api, manifest);

        const camera = segmentsOf(manifest, 'camera');
        const first = camera[0];
        const last = camera.at(-1);
        assert.ok(first.started_unix_ms < outageStart, 'the camera starts after the outage');
        assert.ok(
          last.started_unix_ms + last.duration_ms > outageEnd,
          'the camera ends before the outage does',
        );
        for (let i = 1; i < camera.length; i += 1) {
          const previous = camera[i - 1];
          const jump = camera[i].media_start_ms - (previous.media_start_ms + previous.duration_ms);
          assert.ok(
            Math.abs(jump) <= CONTIGUITY_MS,
            `camera segment ${camera[i].index} starts ${jump} ms after segment ` +
              `${previous.index} ends`,
          );
        }
        const cameraGaps = manifest.gaps.filter((gap) => gap.source === 'camera');
        assert.deepEqual(cameraGaps, [], 'camera gaps');
      });
    } catch (error) {
      t.diagnostic(`Garage log:\n${garage.logTail()}`);
      throw error;
    } finally {
      await stage?.close();
      await garage.stop();
      garage.removeDir();
    }
  });

  it('SIGTERM closes and uploads recordings', { timeout: 90_000 }, async (t) => {
    const stage = await Stage.open('recording-crash-sigterm', { env: SETTINGS });
    try {
      await stage.step(async () => {
        const { dataDir } = stage.server;
        const api = await RecordingApi.as(stage.server, stage.room);
        const { identity, recording } = await publishParticipant(stage, api, 'participant');
        await sleep(6_000);

        const stoppedAt = Date.now();
        await stage.server.stop();
        t.diagnostic(`the server stopped ${Date.now() - stoppedAt} ms after SIGTERM`);
        assert.equal(stage.server.exitStatus, 'exit code 0', 'how the server ended');

        const stored = storedFolder(dataDir, stage.room, identity, recording);
        const manifestPath = path.join(stored, 'manifest.json');
        assert.ok(fs.existsSync(manifestPath), `${manifestPath} is missing`);
        const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
        assert.equal(manifest.status, 'complete', 'status in storage');
        assert.equal(fs.existsSync(spoolFolder(dataDir, recording)), false, 'spool folder left');
        for (const segment of manifest.segments) {
          const name = `${String(segment.index).padStart(6, '0')}.webm`;
          const file = path.join(stored, segment.source, name);
          assert.equal(fs.statSync(file, { throwIfNoEntry: false })?.size, segment.size, file);
        }
        for (const source of RECORDED_SOURCES) {
          const end = lastSegmentEnd(manifest, source);
          assert.ok(end !== null, `no ${source} segment`);
          t.diagnostic(`the last ${source} segment ends ${stoppedAt - end} ms before the stop`);
          assert.ok(
            Math.abs(end - stoppedAt) <= 1_000,
            `${source} ends ${stoppedAt - end} ms before the stop`,
          );
        }
      });
    } finally {
      await stage.close();
    }
  });

  it('camera without media ends as no_media', { timeout: 90_000 }, async () => {
    const stage = await Stage.open('recording-crash-no-media', { env: SETTINGS });
    try {
      await stage.step(async () => {
        const api = await RecordingApi.as(stage.server, stage.room);
        const { page, identity } = await stage.openPage({
          label: 'silent-participant',
          html: 'participant',
          role: 'participant',
          name: 'silent-participant',
          initScript: silentCameraScript(),
        });
        await clickTestId(page, 'join');
        await waitInPage(
          page,
          'joining and connecting the publishing connection',
          () =>
            window.profstage?.phase === 'joined' &&
            window.profstage.publisher?.connectionState === 'connected',
        );

        const find = (live) => live.participants.find((p) => p.participant === identity);
        const live = await waitFor(
          `the camera recording of ${identity} to fail`,
          () => api.live(stage.room),
          (live) => find(live)?.sources.some((s) => s.state === 'failed'),
          { timeoutMs: (NO_MEDIA_SECS + 10) * 1000 },
        );
        const sent = await readSent(page.page);
        assert.equal(sent.audioTracks, 0, 'audio tracks sent');
        assert.equal(sent.camera?.packetsSent, 0, 'camera packets sent by the browser');
        const { recording, sources } = find(live);
        assert.deepEqual(
          sources.map(({ source, state, detail }) => ({ source, state, detail })),
          [{ source: 'camera', state: 'failed', detail: 'no media' }],
        );
        const running = await api.manifest(recording);
        const event = running.events.find((e) => e.kind === 'no_media');
        assert.ok(event, `no no_media event in ${JSON.stringify(running.events)}`);
        const after = event.at_unix_ms - running.started_unix_ms;
        assert.ok(after >= NO_MEDIA_SECS * 1000, `failed ${after} ms after the start`);

        await clickTestId(page, 'leave');
        const ended = await pollUntil(
          () => api.manifest(recording),
          (manifest) => manifest.status !== 'recording',
          { timeoutMs: 15_000, intervalMs: 500 },
        );
        assert.equal(ended.status, 'no_media', 'status after the participant left');
        assert.deepEqual(ended.segments, [], 'segments');
      });
    } finally {
      await stage.close();
    }
  });
});
