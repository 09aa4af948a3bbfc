// Runs the same load against Profstage and Janus Gateway, one after the other in one run,
// measures the floor cost of one packet on this host, and prints the ratios.
//
// Usage: node bench/janus.mjs [SECONDS] [LOADS]
// (defaults: a 30 s window, loads "1x100,5x40": publishers x subscribers per publisher).
// Needs PROFSTAGE_BIN (the server), PROFSTAGE_LOAD_BIN (profstage-load) and
// PROFSTAGE_FLOOR_BIN (profstage-floor), all release builds, and `janus` on PATH.
// `scripts/bench-janus` builds them and installs Janus. BENCH_OUT names the folder for the
// JSON reports (default: a new temporary folder). JANUS_RTP_PORTS sets Janus's UDP port
// range (default 42000-42999). Method and figures: docs/benchmarks.md.
//
// Janus 1.1 gathers no ICE candidates on loopback, so its media needs another address that
// reaches no other host. `scripts/bench-janus` runs this script in a network namespace of
// its own, with a veth pair whose both ends stay inside it, and names the address of one
// end in BENCH_MEDIA_ADDRESS. Janus's ICE candidates and the load generator's sockets for
// Janus use that address. Everything else stays on 127.0.0.1.
//
// Each load runs on a fresh server process, first Profstage, then Janus, in per-publisher
// mode: each publisher sends VP8 at 1.5 Mbit/s and 30 fps with Opus to its own room. The
// Profstage server records nothing and logs warnings only; Janus runs the VideoRoom plugin
// and the HTTP transport only, its API on 127.0.0.1, at log level 3 (warnings).

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { freeTcpPort, freeUdpPort, sleep } from '../support/server.mjs';

const WINDOW_SECS = Number(process.argv[2] ?? 30);
const LOADS = (process.argv[3] ?? '1x100,5x40').split(',').map((load) => {
  const [publishers, subscribers] = load.split('x').map(Number);
  if (!(publishers >= 1 && subscribers >= 1)) {
    throw new Error(`invalid load ${load}: expected PUBLISHERSxSUBSCRIBERS, such as 1x100`);
  }
  return { publishers, subscribers };
});
const RTP_PORTS = process.env.JANUS_RTP_PORTS ?? '42000-42999';
const JANUS_CONFIG = '/etc/janus';
const HOST = '127.0.0.1';
const MEDIA_ADDRESS = process.env.BENCH_MEDIA_ADDRESS;
if (!MEDIA_ADDRESS) {
  throw new Error(
    'BENCH_MEDIA_ADDRESS is not set: run scripts/bench-janus, which makes the network namespace',
  );
}
const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;

function binary(variable) {
  const value = process.env[variable];
  if (!value || !fs.existsSync(value)) {
    throw new Error(`set ${variable} to a release build (scripts/bench-janus does)`);
  }
  return path.resolve(value);
}

const out = process.env.BENCH_OUT ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bench-janus-'));
fs.mkdirSync(out, { recursive: true });

/** A child process whose output goes to a log file. */
class Child {
  constructor(command, args, { cwd, env, log }) {
    this.log = log;
    const stream = fs.openSync(log, 'w');
    this.child = spawn(command, args, { cwd, env, stdio: ['ignore', stream, stream] });
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.onProcessExit = () => this.child.kill('SIGKILL');
    process.once('exit', this.onProcessExit);
  }

  get pid() {
    return this.child.pid;
  }

  async stop() {
    process.removeListener('exit', this.onProcessExit);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

async function waitForHttp(url, child) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.child.exitCode !== null) {
      throw new Error(`${url}: the process exited; see ${child.log}`);
    }
    try {
      if ((await fetch(url)).ok) {
        return;
      }
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer within ${READY_TIMEOUT_MS} ms; see ${child.log}`);
}

/** Starts Profstage with rooms r01..r20, no recording and warnings-only logs. */
async function startProfstage(dir) {
  const httpPort = await freeTcpPort();
  const udpPort = await freeUdpPort();
  const rooms = Array.from({ length: 20 }, (_, i) => {
    const id = `r${String(i + 1).padStart(2, '0')}`;
    return `[[rooms]]\nid = "${id}"\ntitle = "Room ${i + 1}"\n`;
  });
  const config = [
    `[http]\nlisten = "${HOST}:${httpPort}"`,
    `[media]\nudp_listen = "${HOST}:${udpPort}"`,
    '[log]\nlevel = "warn"',
    `[recording]\nenabled = false\nspool_dir = "${dir}/spool"\ndata_dir = "${dir}/data"`,
    `[storage]\nlocal_dir = "${dir}/recordings"`,
    ...rooms,
  ].join('\n');
  const configPath = path.join(dir, 'bench.toml');
  fs.writeFileSync(configPath, `${config}\n`);
  const env = { ...process.env };
  for (const name of Object.keys(env).filter((n) => n.startsWith('PROFSTAGE_'))) {
    delete env[name];
  }
  env.RUST_LOG = 'warn';
  const child = new Child(binary('PROFSTAGE_BIN'), ['--config', configPath], {
    cwd: dir,
    env,
    log: path.join(dir, 'server.log'),
  });
  const url = `http://${HOST}:${httpPort}/`;
  await waitForHttp(`${url}api/v1/health`, child);
  return { child, url };
}

/**
 * Writes a copy of Janus's stock configuration that listens on 127.0.0.1 only: the HTTP
 * transport on `httpPort`, ICE candidates on 127.0.0.1 only with UDP ports from
 * RTP_PORTS, no mDNS, and no plugin or transport but VideoRoom and HTTP.
 */
function writeJanusConfig(dir, httpPort) {
  fs.cpSync(JANUS_CONFIG, dir, { recursive: true });
  const core = path.join(dir, 'janus.jcfg');
  let text = fs.readFileSync(core, 'utf8');
  const setting = (pattern, replacement) => {
    if (!pattern.test(text)) {
      throw new Error(`${core}: no line matches ${pattern}; is this Janus 1.1?`);
    }
    text = text.replace(pattern, replacement);
  };
  const folder = (key) => text.match(new RegExp(`^\\s*${key} = "([^"]*)"`, 'm'))[1];
  const others = (libraryFolder, keep) =>
    fs
      .readdirSync(libraryFolder)
      .filter((name) => name.endsWith('.so') && name !== keep)
      .join(',');
  const plugins = others(folder('plugins_folder'), 'libjanus_videoroom.so');
  const transports = others(folder('transports_folder'), 'libjanus_http.so');
  setting(/^(\s*)configs_folder = "[^"]*"/m, `$1configs_folder = "${dir}"`);
  setting(/^(\s*)debug_level = \d+/m, '$1debug_level = 3');
  setting(/^(\s*)#?rtp_port_range = "[^"]*"/m, `$1rtp_port_range = "${RTP_PORTS}"`);
  setting(/^(\s*)#?ignore_mdns = \w+/m, '$1ignore_mdns = true');
  setting(/^(\s*)#?ice_enforce_list = "eth0"$/m, `$1ice_enforce_list = "${MEDIA_ADDRESS}"`);
  setting(/^(\s*)#?disable = "libjanus_voicemail[^"]*"/m, `$1disable = "${plugins}"`);
  setting(/^(\s*)#?disable = "libjanus_rabbitmq.so"/m, `$1disable = "${transports}"`);
  fs.writeFileSync(core, text);

  const http = path.join(dir, 'janus.transport.http.jcfg');
  text = fs.readFileSync(http, 'utf8');
  setting(/^(\s*)port = 8088/m, `$1port = ${httpPort}`);
  setting(/^(\s*)#?ip = "[^"]*"/m, `$1ip = "${HOST}"`);
  fs.writeFileSync(http, text);
}

async function startJanus(dir) {
  const httpPort = await freeTcpPort();
  const configDir = path.join(dir, 'janus');
  writeJanusConfig(configDir, httpPort);
  const child = new Child('janus', ['-F', configDir, '-o', '-D'], {
    cwd: dir,
    env: process.env,
    log: path.join(dir, 'janus.log'),
  });
  const url = `http://${HOST}:${httpPort}/janus`;
  await waitForHttp(`${url}/info`, child);
  return { child, url };
}

function run(command, args) {
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function measureFloor(name) {
  const json = path.join(out, `floor-${name}.json`);
  const code = await run(binary('PROFSTAGE_FLOOR_BIN'), ['--json', json]);
  if (code !== 0) {
    throw new Error(`profstage-floor exited with ${code}`);
  }
  return JSON.parse(fs.readFileSync(json, 'utf8'));
}

async function runLoad(target, load) {
  const name = `${target}-${load.publishers}x${load.subscribers}`;
  const dir = fs.mkdtempSync(path.join(out, `${name}-`));
  const server = target === 'janus' ? await startJanus(dir) : await startProfstage(dir);
  const json = path.join(out, `${name}.json`);
  const loadBefore = os.loadavg();
  try {
    const code = await run(binary('PROFSTAGE_LOAD_BIN'), [
      '--target', target,
      '--url', server.url,
      '--server-pid', String(server.child.pid),
      '--publishers', String(load.publishers),
      '--subscribers', String(load.subscribers),
      '--duration', String(WINDOW_SECS),
      '--json', json,
      '--bind', target === 'janus' ? MEDIA_ADDRESS : HOST,
    ]);
    if (!fs.existsSync(json)) {
      throw new Error(`profstage-load against ${target} exited with ${code} and wrote no report`);
    }
  } finally {
    await server.child.stop();
  }
  const report = JSON.parse(fs.readFileSync(json, 'utf8'));
  return { target, load, loadavg: [loadBefore, os.loadavg()], report };
}

/** Returns the figures compared, from one report. */
function figures({ report }) {
  const server = report.server ?? {};
  const grown = (server.rss_end_kib ?? 0) - (server.rss_publishers_kib ?? 0);
  return {
    passed: report.passed,
    forwarded_per_s: report.packets.window_packets_per_second,
    cpu_share_of_core: server.cores_busy,
    cpu_us_per_packet: server.cpu_us_per_forwarded_packet,
    cpu_wait_s: server.window_runqueue_wait_s,
    kib_per_subscriber: grown / Math.max(1, report.subscribers.count),
    rss_end_mib: (server.rss_end_kib ?? 0) / 1024,
    join_first_frame_p50_ms: report.subscribers.first_frame_ms.p50,
    join_first_frame_p99_ms: report.subscribers.first_frame_ms.p99,
    connect_p50_ms: report.subscribers.connect_ms.p50,
    loss: report.packets.loss_ratio,
    latency_video_p50_ms: report.added_latency_ms.video.p50,
    latency_video_p99_ms: report.added_latency_ms.video.p99,
    jitter_video_mean_ms: report.jitter_ms.video_mean,
    udp_drops: server.udp_drops,
    load_generator_cpu_s: report.load_generator_cpu_seconds,
  };
}

function machine() {
  const lscpu = spawnSync('lscpu', { encoding: 'utf8' }).stdout ?? '';
  const field = (name) => lscpu.match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))?.[1];
  const janus = spawnSync('janus', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return {
    cpu: field('Model name'),
    cpus: os.cpus().length,
    memory_gib: os.totalmem() / 2 ** 30,
    kernel: os.release(),
    janus: janus.match(/Janus version: .*\(([^)]*)\)/)?.[1],
  };
}

const ratio = (a, b) => (b ? a / b : null);
const fixed = (value, digits) => (value == null ? '-' : value.toFixed(digits));

function printComparison(ours, theirs, floorUs) {
  const rows = [
    ['forwarded packets/s', 'forwarded_per_s', 0],
    ['server CPU, share of one core', 'cpu_share_of_core', 2],
    ['CPU per forwarded packet, us', 'cpu_us_per_packet', 2],
    ['memory per subscriber, KiB', 'kib_per_subscriber', 0],
    ['resident memory at the end, MiB', 'rss_end_mib', 0],
    ['join to first frame p50, ms', 'join_first_frame_p50_ms', 0],
    ['join to first frame p99, ms', 'join_first_frame_p99_ms', 0],
    ['join to connected p50, ms', 'connect_p50_ms', 0],
    ['loss', 'loss', 5],
    ['added latency video p50, ms', 'latency_video_p50_ms', 1],
    ['added latency video p99, ms', 'latency_video_p99_ms', 1],
    ['jitter video mean, ms', 'jitter_video_mean_ms', 2],
    ['server CPU wait, s', 'cpu_wait_s', 1],
    ['load generator CPU, s', 'load_generator_cpu_s', 1],
  ];
  console.log(`  ${''.padEnd(34)}${'Profstage'.padStart(12)}${'Janus'.padStart(12)}${'ratio'.padStart(8)}`);
  // A failed run's figures are zeros or partial, so no ratio is printed against it.
  const comparable = ours.passed && theirs.passed;
  for (const [label, key, digits] of rows) {
    const r = comparable ? ratio(ours[key], theirs[key]) : null;
    console.log(
      `  ${label.padEnd(34)}${fixed(ours[key], digits).padStart(12)}` +
        `${fixed(theirs[key], digits).padStart(12)}${fixed(r, 2).padStart(8)}`,
    );
  }
  console.log(
    `  CPU per forwarded packet over the floor (${floorUs.toFixed(2)} us): ` +
      `Profstage ${fixed(ratio(ours.cpu_us_per_packet, floorUs), 1)}x, ` +
      `Janus ${fixed(ratio(theirs.cpu_us_per_packet, floorUs), 1)}x`,
  );
}

async function main() {
  const summary = {
    started: new Date().toISOString(),
    machine: machine(),
    window_s: WINDOW_SECS,
    floor: [],
    comparisons: [],
  };
  summary.floor.push(await measureFloor('start'));
  for (const load of LOADS) {
    const ours = await runLoad('profstage', load);
    const theirs = await runLoad('janus', load);
    summary.comparisons.push({
      load,
      loadavg: { profstage: ours.loadavg, janus: theirs.loadavg },
      profstage: figures(ours),
      janus: figures(theirs),
    });
  }
  summary.floor.push(await measureFloor('end'));
  summary.finished = new Date().toISOString();
  const floorUs = Math.min(...summary.floor.map((floor) => floor.forward_us));
  summary.floor_forward_us = floorUs;
  for (const comparison of summary.comparisons) {
    comparison.ratios = {
      cpu_per_packet: ratio(comparison.profstage.cpu_us_per_packet, comparison.janus.cpu_us_per_packet),
      memory_per_subscriber: ratio(
        comparison.profstage.kib_per_subscriber,
        comparison.janus.kib_per_subscriber,
      ),
      join_first_frame_p50: ratio(
        comparison.profstage.join_first_frame_p50_ms,
        comparison.janus.join_first_frame_p50_ms,
      ),
      profstage_over_floor: ratio(comparison.profstage.cpu_us_per_packet, floorUs),
      janus_over_floor: ratio(comparison.janus.cpu_us_per_packet, floorUs),
    };
  }

  console.log(`\n${summary.machine.cpu}, ${summary.machine.cpus} CPUs, Linux ${summary.machine.kernel}`);
  for (const floor of summary.floor) {
    console.log(
      `floor: sendto ${floor.send.cpu_us.toFixed(2)} us, recv ${floor.recv.cpu_us.toFixed(2)} us, ` +
        `AES-128-GCM ${floor.encrypt.cpu_us.toFixed(2)} us per ${floor.size}-byte packet`,
    );
  }
  for (const comparison of summary.comparisons) {
    const { publishers, subscribers } = comparison.load;
    const loads = Object.values(comparison.loadavg)
      .flat()
      .map((l) => l[0].toFixed(1))
      .join(' ');
    console.log(`\n${publishers} x ${subscribers} subscribers, ${WINDOW_SECS} s (load average ${loads})`);
    printComparison(comparison.profstage, comparison.janus, floorUs);
  }
  const summaryPath = path.join(out, 'summary.json');
  fs.writeFileSync(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`\nreports: ${out}\nsummary: ${summaryPath}`);
}

await main();
