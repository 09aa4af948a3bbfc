// Records many live streams to S3 storage (Garage) through a long storage outage, then
// checks that every segment reached storage and every recording verifies.
//
// Usage: node bench/storage-outage.mjs [PUBLISHERS] [OUTAGE_SECS]
// (defaults: 50 publishers, a 600 s outage). Needs PROFSTAGE_BIN (the server) and
// PROFSTAGE_LOAD_BIN (profstage-load), both release builds, and Garage (scripts/garage).
// The publishers are profstage-load's synthetic VP8 cameras at 1.5 Mbit/s with Opus, all in
// one room with one expert watching. Garage stops one minute into the run and starts again
// after the outage; the run ends one minute later. The script then waits for the upload
// backlog to drain, stops the server with SIGTERM and checks the recordings. It prints a
// JSON summary and exits 1 when a check failed. Method and figures: docs/benchmarks.md.

import { spawn } from 'node:child_process';
import path from 'node:path';

import { GarageNode } from '../support/garage.mjs';
import { RecordingApi } from '../support/recordings.mjs';
import { spawnServer, sleep } from '../support/server.mjs';

const PUBLISHERS = Number(process.argv[2] ?? 50);
const OUTAGE_SECS = Number(process.argv[3] ?? 600);
const LEAD_SECS = 60;
const TAIL_SECS = 60;
const DRAIN_TIMEOUT_MS = 20 * 60_000;
// A jump between consecutive segments of one source larger than this, which no gap in the
// manifest lists, counts as lost media.
const MAX_JUMP_MS = 1_000;

const checks = [];
let gapsListed = 0;

function check(ok, description) {
  checks.push({ ok, description });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${description}`);
}

function runLoad(server, room, durationSecs) {
  const binary = process.env.PROFSTAGE_LOAD_BIN;
  if (!binary) {
    throw new Error('set PROFSTAGE_LOAD_BIN to the profstage-load binary');
  }
  const args = [
    '--url', `${server.baseUrl}/`,
    '--mode', 'watch-all',
    '--room', room,
    '--publishers', String(PUBLISHERS),
    '--subscribers', '1',
    '--duration', String(durationSecs),
    '--json', path.join(server.dataDir, 'load.json'),
  ];
  const child = spawn(path.resolve(binary), args, { stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function waitForDrain(api) {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const backlog = await api.metric('profstage_recording_upload_backlog_segments');
    if (backlog === 0) {
      return true;
    }
    await sleep(1_000);
  }
  return false;
}

// A restarted server reads every manifest from storage before it lists recordings, and
// returns 503 until then.
async function listWhenLoaded(api, room) {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    try {
      return await api.list(room);
    } catch (error) {
      if (!String(error.message).includes(' 503 ') || Date.now() > deadline) {
        throw error;
      }
      await sleep(1_000);
    }
  }
}

async function checkRecording(api, summary) {
  const report = await api.verify(summary.id);
  check(report.ok === true, `recording ${summary.id} verifies (${report.segments_checked} segments)`);
  const manifest = await api.manifest(summary.id);
  for (const source of ['camera', 'microphone']) {
    const segments = manifest.segments
      .filter((segment) => segment.source === source)
      .sort((a, b) => a.media_start_ms - b.media_start_ms);
    // Time without media that reached the recorder, such as input lost at a busy socket, is
    // listed as a gap; a jump that no gap explains is media lost on the way to storage.
    const gaps = manifest.gaps.filter((gap) => gap.source === source);
    let worst = 0;
    let explained = 0;
    for (let i = 1; i < segments.length; i += 1) {
      const previous = segments[i - 1];
      const jump = segments[i].media_start_ms - (previous.media_start_ms + previous.duration_ms);
      const endUnixMs = previous.started_unix_ms + previous.duration_ms;
      const listed = gaps.some((gap) => gap.from_unix_ms <= endUnixMs + MAX_JUMP_MS
        && gap.to_unix_ms >= segments[i].started_unix_ms - MAX_JUMP_MS);
      if (jump > MAX_JUMP_MS && listed) {
        explained += 1;
      } else {
        worst = Math.max(worst, jump);
      }
    }
    gapsListed += explained;
    check(segments.length > 0, `${summary.id} has ${segments.length} ${source} segments`);
    check(worst <= MAX_JUMP_MS,
      `${summary.id} ${source}: largest jump between segments that no gap lists ${worst} ms`
      + ` (${explained} listed gaps)`);
  }
  return report.segments_checked;
}

async function main() {
  const garage = await GarageNode.start();
  const server = await spawnServer({ env: { ...garage.env, RUST_LOG: 'info' } });
  try {
    await server.waitHealthy();
    const room = 'demo';
    const api = await RecordingApi.as(server, room, { role: 'organiser', name: 'Организатор' });
    const load = runLoad(server, room, LEAD_SECS + OUTAGE_SECS + TAIL_SECS);

    await sleep(LEAD_SECS * 1_000);
    await garage.stop();
    const outageStart = Date.now();
    let peakBacklog = 0;
    let peakSpool = 0;
    while (Date.now() - outageStart < OUTAGE_SECS * 1_000) {
      await sleep(5_000);
      peakBacklog = Math.max(peakBacklog, await api.metric('profstage_recording_upload_backlog_bytes'));
      peakSpool = Math.max(peakSpool, await api.metric('profstage_recording_spool_bytes'));
    }
    await garage.restart();
    const restartedAt = Date.now();

    const loadStatus = await load;
    check(loadStatus === 0, `profstage-load exited with ${loadStatus}`);
    const drained = await waitForDrain(api);
    check(drained, `upload backlog drained ${Math.round((Date.now() - restartedAt) / 1000)} s after storage returned`);

    const failures = await api.metric('profstage_recording_upload_failures_total');
    const dropped = await api.metric('profstage_recording_packets_dropped_total');
    const muxed = await api.metric('profstage_recording_segments_muxed_total');
    const uploaded = await api.metric('profstage_recording_segments_uploaded_total');
    check(dropped === 0, `${dropped} packets dropped by the recorder`);
    check(uploaded >= muxed, `${uploaded} segments uploaded of ${muxed} muxed`);

    await server.stop();
    check(server.exitStatus === 'exit code 0', `server stopped with ${server.exitStatus}`);
    const restarted = await spawnServer({
      env: { ...garage.env, RUST_LOG: 'info' },
      dataDir: server.dataDir,
    });
    await restarted.waitHealthy();
    const restartedApi = await RecordingApi.as(restarted, room, { role: 'organiser', name: 'Организатор' });
    const recordings = await listWhenLoaded(restartedApi, room);
    check(recordings.length === PUBLISHERS, `${recordings.length} recordings for ${PUBLISHERS} publishers`);
    let segmentsChecked = 0;
    for (const summary of recordings) {
      segmentsChecked += await checkRecording(restartedApi, summary);
    }
    await restarted.stop();

    console.log(JSON.stringify({
      publishers: PUBLISHERS,
      outage_secs: OUTAGE_SECS,
      peak_backlog_bytes: peakBacklog,
      peak_spool_bytes: peakSpool,
      upload_failures_during_outage: failures,
      segments_muxed: muxed,
      segments_uploaded: uploaded,
      segments_verified: segmentsChecked,
      jumps_listed_as_gaps: gapsListed,
      failed_checks: checks.filter((entry) => !entry.ok).length,
    }, null, 2));
  } finally {
    await server.stop();
    await garage.stop();
    garage.removeDir();
  }
  process.exitCode = checks.every((entry) => entry.ok) ? 0 : 1;
}

await main();
