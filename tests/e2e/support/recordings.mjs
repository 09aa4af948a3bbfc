// The server's recording endpoints, called with an expert's or organiser's bearer token, and
// the places where a server keeps recordings inside its working directory.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The recording API of `server` as seen by the holder of `token`. */
export class RecordingApi {
  constructor(server, token) {
    this.server = server;
    this.token = token;
  }

  /** Requests a token for `name` in `role` (expert by default) and returns an API for it. */
  static async as(server, room, { name = 'Эксперт', role = 'expert' } = {}) {
    const { token } = await server.devToken(room, name, role);
    return new RecordingApi(server, token);
  }

  /** `GET /api/v1/recordings?room=R`: the room's recordings. */
  async list(room) {
    const body = await this.#json(`/api/v1/recordings?room=${encodeURIComponent(room)}`);
    return body.recordings;
  }

  /** `GET /api/v1/recordings/live?room=R`: what is being recorded, and the upload backlog. */
  live(room) {
    return this.#json(`/api/v1/recordings/live?room=${encodeURIComponent(room)}`);
  }

  /** `GET /api/v1/recordings/{id}`: the manifest with media and download URLs. */
  manifest(id) {
    return this.#json(`/api/v1/recordings/${id}`);
  }

  /** `GET /api/v1/recordings/{id}/verify`: `{ok, segments_checked, problems}`. */
  verify(id) {
    return this.#json(`/api/v1/recordings/${id}/verify`);
  }

  /** Returns the value of the unlabelled Prometheus metric `name` from `GET /metrics`. */
  async metric(name) {
    const text = await this.#text('/metrics');
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
    if (!line) {
      throw new Error(`GET /metrics has no ${name}`);
    }
    return Number(line.slice(name.length + 1));
  }

  /** Downloads `url` (a server path with a ticket, from a manifest) into `file`. */
  async download(url, file) {
    const response = await fetch(`${this.server.baseUrl}${url}`);
    if (!response.ok) {
      // The URL's query carries a ticket that grants access, so it stays out of messages.
      const where = url.split('?')[0];
      throw new Error(`GET ${where} failed: ${response.status} ${await response.text()}`);
    }
    fs.writeFileSync(file, Buffer.from(await response.arrayBuffer()));
  }

  async #json(url) {
    return JSON.parse(await this.#text(url));
  }

  async #text(url) {
    const response = await fetch(`${this.server.baseUrl}${url}`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`GET ${url} failed: ${response.status} ${text}`);
    }
    return text;
  }
}

/** Returns the spool folder of a recording, with the default `recording.spool_dir`. */
export function spoolFolder(dataDir, recording) {
  return path.join(dataDir, 'data', 'spool', recording);
}

/**
 * Returns the folder of a recording in the local storage backend, with the default
 * `storage.local_dir`. The object keys start with `recordings/` as well.
 */
export function storedFolder(dataDir, room, participant, recording) {
  return path.join(dataDir, 'recordings', 'recordings', room, participant, recording);
}

/** Lists the files below `dir` as sorted paths relative to it, or none when it is missing. */
export function listFiles(dir) {
  if (!fs.existsSync(dir)) {
    return [];
  }
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath ?? entry.path, entry.name)))
    .sort();
}

/**
 * Returns the duration of a media file in seconds, as ffprobe reads it: the container's
 * duration, or the end of the last packet when the container states none.
 */
export async function probeDuration(file) {
  const { stdout } = await run('ffprobe', [
    '-v', 'error',
    '-show_entries', 'format=duration:packet=pts_time,duration_time',
    '-of', 'json',
    file,
  ]);
  const probe = JSON.parse(stdout);
  const stated = Number(probe.format?.duration);
  if (Number.isFinite(stated)) {
    return stated;
  }
  let end = 0;
  for (const packet of probe.packets ?? []) {
    end = Math.max(end, Number(packet.pts_time) + (Number(packet.duration_time) || 0));
  }
  return end;
}

/**
 * Returns the end of the last segment of `source` on the server clock, in milliseconds
 * since the Unix epoch, or null when the source has no segment.
 */
export function lastSegmentEnd(manifest, source) {
  const ends = manifest.segments
    .filter((segment) => segment.source === source)
    .map((segment) => segment.started_unix_ms + segment.duration_ms);
  return ends.length > 0 ? Math.max(...ends) : null;
}

// Upper bound, in bytes, for what ffmpeg writes while decoding a whole file.
const FFMPEG_BUFFER = 256 * 1024 * 1024;

/**
 * Decodes `file` with ffmpeg and returns what it wrote at the error level, or why it failed.
 * Frames keep their own timestamps in the file's millisecond time base. By default ffmpeg 5.1
 * rounds them to 1/30 s for the null muxer, so two frames less than 33 ms apart, as a loaded
 * browser sends them, make it report "non monotonically increasing dts" for a file that is
 * fine. `inputArgs` go before `-i` (such as `-ss`), `outputArgs` after it.
 */
export async function decodeErrors(file, { inputArgs = [], outputArgs = [] } = {}) {
  const args = [
    ...['-v', 'error', ...inputArgs, '-i', file, ...outputArgs],
    ...['-fps_mode', 'passthrough', '-enc_time_base:v', '-1', '-f', 'null', '-'],
  ];
  try {
    const { stderr } = await run('ffmpeg', args, { maxBuffer: FFMPEG_BUFFER });
    return stderr.trim();
  } catch (error) {
    return `ffmpeg failed (${error.code}): ${error.stderr || error.message}`;
  }
}
