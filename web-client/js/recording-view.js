// One recording on the review page: loads its manifest and builds the two synchronised
// players, the timeline, the playback controls, the download links and the verify button
// from the page's <template id="recording-template">.

import { setText, translate } from './i18n.js';
import { PlaybackControls, createRateButtons } from './recording-controls.js';
import { formatDateTime, formatDuration, statusName } from './recording-format.js';
import { SyncedPlayer } from './recording-player.js';
import { Timeline } from './recording-timeline.js';
import { VerifyButton } from './recording-verify.js';

const VIDEO_SOURCES = ['camera', 'camera2', 'screen'];
// Every playable file. The talk file has the talker's camera unless they had none.
const MEDIA_SOURCES = [...VIDEO_SOURCES, 'talk'];
// The recorded sources in each playable file: its video, then its sound.
const FILE_PARTS = {
  camera: ['camera', 'microphone'],
  camera2: ['camera2', null],
  screen: ['screen', 'screen-audio'],
  talk: ['talk-video', 'talk'],
};

function byTestId(root, id) {
  return root.querySelector(`[data-testid="${id}"]`);
}

/** Fills in the arrays that the page iterates, so that an older manifest still draws. */
function normalise(recording) {
  return {
    ...recording,
    segments: Array.isArray(recording.segments) ? recording.segments : [],
    gaps: Array.isArray(recording.gaps) ? recording.gaps : [],
    events: Array.isArray(recording.events) ? recording.events : [],
    media: recording.media ?? {},
  };
}

/** Builds a download's file name from name, start time and source, without path characters. */
function downloadName(recording, source) {
  const start = new Date(recording.started_unix_ms).toISOString().slice(0, 16);
  const name = recording.participant_name || recording.participant || 'recording';
  return `${name} ${start} ${source}.webm`.replace(/[\\/:*?"<>|]+/g, '-');
}

export class RecordingView {
  #root;
  #api;
  #id;
  #abort = new AbortController();
  #phase = 'loading';
  #error = null;
  #recording = null;
  #endMs = 0;
  #player = null;
  #timeline = null;
  #controls = null;
  #verify = null;
  #frame = null;

  /** Shows recording `id` inside `container`, replacing what was there. */
  constructor(container, api, id) {
    const template = document.getElementById('recording-template');
    this.#root = template.content.firstElementChild.cloneNode(true);
    translate(this.#root);
    container.replaceChildren(this.#root);
    this.#api = api;
    this.#id = id;
    byTestId(this.#root, 'retry-recording').onclick = () => this.load();
    this.#setPhase('loading');
  }

  /** Fetches the recording and builds the view, or shows why that failed. */
  async load() {
    this.#setPhase('loading');
    try {
      const recording = await this.#api.recording(this.#id, this.#abort.signal);
      this.#build(normalise(recording));
      this.#setPhase('ready');
    } catch (error) {
      if (error?.name !== 'AbortError') {
        this.#showError(error);
      }
    }
  }

  /** Renders the text that depends on the language: dates, clock, timeline. */
  render() {
    if (this.#recording === null) {
      return;
    }
    this.#renderHeading();
    this.#timeline.render(this.#recording, this.#endMs);
    this.#timeline.setTime(this.#player.currentTime);
    this.#controls.render();
  }

  /** Returns the player's state plus the view's phase, for tests. */
  state() {
    const player = this.#player?.state() ?? {};
    return { phase: this.#phase, error: this.#error, recording: this.#id, ...player };
  }

  /** The synchronised player, or null until the recording has loaded. */
  get player() {
    return this.#player;
  }

  /** Stops playback, cancels requests and removes the view from the page. */
  destroy() {
    this.#abort.abort();
    cancelAnimationFrame(this.#frame);
    this.#controls?.destroy();
    this.#verify?.destroy();
    this.#player?.destroy();
    this.#root.remove();
  }

  #setPhase(phase) {
    this.#phase = phase;
    this.#root.dataset.phase = phase;
    byTestId(this.#root, 'recording-loading').hidden = phase !== 'loading';
    byTestId(this.#root, 'recording-error').hidden = phase !== 'error';
    byTestId(this.#root, 'recording-content').hidden = phase !== 'ready';
  }

  #showError(error) {
    this.#error = error?.kind ?? 'unexpected';
    const keys = {
      unauthorized: 'review.unauthorized',
      forbidden: 'review.forbidden',
      not_found: 'review.recording_not_found',
    };
    const text = byTestId(this.#root, 'recording-error-text');
    setText(text, keys[this.#error] ?? 'review.load_failed');
    byTestId(this.#root, 'retry-recording').hidden = error?.retryable !== true;
    this.#setPhase('error');
  }

  #build(recording) {
    this.#recording = recording;
    this.#endMs = recording.ended_unix_ms ?? Date.now();
    this.#renderHeading();
    this.#buildPlayer(recording);
    this.#buildTimeline(recording);
    this.#buildControls(recording);
    this.#buildDownloads(recording);
    this.#verify = new VerifyButton(byTestId(this.#root, 'verify'),
      byTestId(this.#root, 'verify-result'), () => this.#api.verify(this.#id));
  }

  #renderHeading() {
    const recording = this.#recording;
    byTestId(this.#root, 'recording-title').textContent =
      `${recording.participant_name || recording.participant}, `
      + formatDateTime(recording.started_unix_ms);
    setText(byTestId(this.#root, 'recording-summary'), 'review.summary', {
      status: statusName(recording.status),
      duration: formatDuration(this.#endMs - recording.started_unix_ms),
      segments: recording.segments.length,
    });
    const detail = byTestId(this.#root, 'recording-detail');
    detail.textContent = recording.status_detail ?? '';
    detail.hidden = !recording.status_detail;
  }

  #buildPlayer(recording) {
    const videos = {};
    for (const source of MEDIA_SOURCES) {
      videos[source] = byTestId(this.#root, `video-${source}`);
      byTestId(this.#root, `player-${source}`).hidden = !recording.media[source];
    }
    this.#player = new SyncedPlayer(videos, recording.media, mediaStarts(recording));
    byTestId(this.#root, 'no-media').hidden = this.#player.sources.length > 0;
    this.#player.addEventListener('statechange', () => this.#onPlayerState());
    this.#player.addEventListener('timeupdate', () => this.#renderTime());
    this.#player.addEventListener('mediaerror', (event) => {
      const figure = byTestId(this.#root, `player-${event.detail.source}`);
      figure.dataset.failed = 'true';
      byTestId(figure, 'media-error').hidden = false;
    });
  }

  #buildTimeline(recording) {
    this.#timeline = new Timeline(byTestId(this.#root, 'timeline-box'));
    this.#timeline.render(recording, this.#endMs);
    this.#timeline.addEventListener('seek', (event) => {
      this.#player.seek(event.detail.seconds);
      this.#renderTime();
    });
  }

  #buildControls(recording) {
    const rates = byTestId(this.#root, 'rates');
    createRateButtons(rates);
    const elements = {
      play: byTestId(this.#root, 'play'),
      rates,
      clock: byTestId(this.#root, 'clock'),
      elapsed: byTestId(this.#root, 'elapsed'),
    };
    this.#controls = new PlaybackControls(elements, this.#player, recording.started_unix_ms,
      this.#endMs - recording.started_unix_ms);
  }

  #buildDownloads(recording) {
    for (const source of MEDIA_SOURCES) {
      const link = byTestId(this.#root, `download-${source}`);
      const url = recording.media[source];
      link.hidden = !url;
      if (url) {
        link.href = url;
        link.download = downloadName(recording, source);
      }
    }
  }

  #onPlayerState() {
    this.#controls.render();
    this.#renderTime();
    if (!this.#player.paused && this.#frame === null) {
      this.#frame = requestAnimationFrame(() => this.#onFrame());
    }
  }

  #onFrame() {
    this.#renderTime();
    this.#frame = this.#player.paused ? null : requestAnimationFrame(() => this.#onFrame());
  }

  #renderTime() {
    this.#timeline.setTime(this.#player.currentTime);
    this.#controls?.renderTime();
  }
}

/**
 * Seconds from the recording's start to where the player may seek: the latest of the first
 * camera and the first screen frame, plus 0.2 s. Chromium seeks an Opus track from 80 ms
 * before the target (its pre-roll), and that point must not fall before the first video
 * keyframe, the first entry of the file's cues.
 */
/**
 * Returns, by playable source, the seconds just after its file's first video frame, or
 * after its first sound when the file has no video.
 */
function mediaStarts(recording) {
  const starts = {};
  for (const [source, [video, sound]] of Object.entries(FILE_PARTS)) {
    const first = (part) => {
      const times = recording.segments.filter((s) => s.source === part).map((s) => s.media_start_ms);
      return times.length > 0 ? Math.min(...times) : null;
    };
    const ms = first(video) ?? (sound ? first(sound) : null);
    if (recording.media?.[source] && ms !== null) {
      starts[source] = ms / 1000 + 0.2;
    }
  }
  return starts;
}
