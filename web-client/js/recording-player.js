// Plays a recording's files side by side as one: camera, second camera, screen and the
// talk of experts. The longest file is the master clock, and the others follow it.
// Play, pause, seek and rate go to all. While playing, a follower more than 0.25 s away from
// the master is seeked back into step.
//
// Every file starts at the recording's start (t = 0 is manifest.started_unix_ms), so equal
// currentTime means equal wall-clock time of the session. A file whose media begins later,
// such as a talk or a second camera added midway, waits paused at its first frame until the
// master gets there: Chromium fails a file for good when asked to seek before that frame.
//
// Events: `timeupdate` (the master's time moved), `statechange` (play, pause, rate, which
// files are ready) and `mediaerror` (detail: {source}) when a file cannot be played.

const MAX_DRIFT_S = 0.25;
const DRIFT_CHECK_MS = 250;
// A seek takes time, so a follower that seeks to the master's current position arrives late.
// It aims ahead by the last seek's duration times the rate, at most this far.
const MAX_SEEK_LEAD_S = 2;
const END_MARGIN_S = 0.05;
// A file whose seek failed is reloaded this many times, its start this much later each time.
const MAX_SEEK_RETRIES = 3;
const SEEK_RETRY_STEP_S = 0.5;
const MEDIA_EVENTS = ['play', 'playing', 'pause', 'ended', 'waiting', 'seeking', 'seeked',
  'timeupdate'];
const TIME_EVENTS = new Set(['timeupdate', 'seeking', 'seeked']);
// Files whose sound plays: the camera file carries the microphone, and the talk file the
// voices of the experts who talked to the participant, with their cameras.
const AUDIBLE = new Set(['camera', 'talk']);

/** Duration of a video in seconds, or 0 while unknown. */
function knownDuration(video) {
  return Number.isFinite(video.duration) ? video.duration : 0;
}

export class SyncedPlayer extends EventTarget {
  #videos; // source → <video> or <audio>, only sources that have a file
  #ready = new Set();
  #failed = new Set();
  #seekRetries = new Map(); // source → reloads after a failed seek
  #master = null;
  #followers = [];
  #rate = 1;
  #forcedMute = false;
  #seekStartedAt = new Map(); // follower → performance.now() of its last seek
  #seekLatencyS = 0.1;
  #driftTimer = null;
  #listeners = new AbortController();
  #starts = new Map(); // <video> → seconds before which it is never seeked

  /**
   * @param {Object<string, HTMLMediaElement>} elements by source: `camera`, `camera2`,
   *   `screen` and `talk`
   * @param {Object<string, string>} media the recording's `media` URLs by source
   * @param {Object<string, number>} starts by source, the seconds before which no seek
   *   goes: just after the file's first video frame, or its first sound in a file without
   *   video. Chromium cannot seek a WebM file to before its first video frame when its
   *   audio blocks carry no keyframe flags, as GStreamer writes them.
   */
  constructor(elements, media, starts = {}) {
    super();
    this.#videos = new Map();
    for (const [source, video] of Object.entries(elements)) {
      this.#starts.set(video, Math.max(0, starts[source] ?? 0));
    }
    for (const [source, video] of Object.entries(elements)) {
      const url = media?.[source];
      video.hidden = !url;
      if (url) {
        this.#attach(source, video, url);
      }
    }
  }

  /** The sources that have a file, in page order. */
  get sources() {
    return [...this.#videos.keys()];
  }

  /** Master time in seconds from the recording's start. */
  get currentTime() {
    return this.#master?.currentTime ?? 0;
  }

  /** Length in seconds of the longest file, 0 until its metadata arrived. */
  get duration() {
    return this.#master ? knownDuration(this.#master) : 0;
  }

  get paused() {
    return this.#master?.paused ?? true;
  }

  get rate() {
    return this.#rate;
  }

  /** Starts every file from the master's position. */
  async play() {
    if (!this.#master) {
      return;
    }
    if (this.#master.ended) {
      this.seek(0);
    }
    await this.#master.play();
  }

  pause() {
    for (const video of this.#videos.values()) {
      video.pause();
    }
  }

  togglePlay() {
    return this.paused ? this.play() : Promise.resolve(this.pause());
  }

  /** Moves every file to `seconds` from the recording's start, clamped to the length. */
  seek(seconds) {
    if (!this.#master || !Number.isFinite(seconds)) {
      return;
    }
    const start = this.#startOf(this.#master);
    const target = Math.min(Math.max(start, seconds), this.duration || seconds);
    this.#master.currentTime = target; // the master's `seeking` event moves the followers
  }

  /**
   * Sets the playback rate of every file. When the browser rejects a rate with sound, the
   * sound is muted and the rate tried again. Returns the rate now in effect.
   */
  setRate(rate) {
    const previous = this.#rate;
    if (!this.#applyRate(rate, false) && !this.#applyRate(rate, true)) {
      this.#applyRate(previous, this.#forcedMute);
      return this.#rate;
    }
    this.#rate = rate;
    this.#emit('statechange');
    return this.#rate;
  }

  /** Returns a summary for tests and diagnostics. */
  state() {
    const sources = {};
    for (const [source, video] of this.#videos) {
      sources[source] = {
        currentTime: video.currentTime,
        duration: knownDuration(video),
        paused: video.paused,
        ended: video.ended,
        ready: this.#ready.has(source),
        failed: this.#failed.has(source),
        // The browser's MediaError, such as code 3 (decode) with its message, once failed.
        error: video.error ? { code: video.error.code, message: video.error.message } : null,
        playbackRate: video.playbackRate,
        muted: video.muted,
      };
    }
    return {
      master: this.#sourceOf(this.#master),
      follower: this.#sourceOf(this.#followers[0] ?? null),
      followers: this.#followers.map((video) => this.#sourceOf(video)),
      currentTime: this.currentTime,
      duration: this.duration,
      paused: this.paused,
      rate: this.#rate,
      mutedForRate: this.#forcedMute,
      ready: this.#videos.size > 0 && this.#ready.size + this.#failed.size === this.#videos.size,
      sources,
    };
  }

  /** Stops playback and releases every file. */
  destroy() {
    this.#listeners.abort();
    clearInterval(this.#driftTimer);
    for (const video of this.#videos.values()) {
      video.pause();
      video.removeAttribute('src');
      video.load();
    }
    this.#videos.clear();
  }

  #attach(source, video, url) {
    const options = { signal: this.#listeners.signal };
    video.preload = 'auto';
    video.playsInline = true;
    video.muted = !AUDIBLE.has(source);
    video.addEventListener('loadedmetadata', () => this.#onReady(source), options);
    video.addEventListener('error', () => this.#onError(source), options);
    for (const type of MEDIA_EVENTS) {
      video.addEventListener(type, (event) => this.#onMediaEvent(event), options);
    }
    video.src = url;
    this.#videos.set(source, video);
  }

  #applyRate(rate, muted) {
    try {
      for (const video of this.#videos.values()) {
        video.playbackRate = rate;
      }
    } catch {
      return false;
    }
    this.#setForcedMute(muted);
    return true;
  }

  #setForcedMute(muted) {
    for (const [source, video] of this.#videos) {
      if (AUDIBLE.has(source) && muted !== this.#forcedMute) {
        video.muted = muted;
      }
    }
    this.#forcedMute = muted;
  }

  #onReady(source) {
    this.#ready.add(source);
    this.#videos.get(source).playbackRate = this.#rate;
    this.#chooseMaster();
  }

  #onError(source) {
    const video = this.#videos.get(source);
    if (this.#retrySeek(source, video)) {
      return;
    }
    console.warn(`recording ${source} failed to play:`, video.error?.code, video.error?.message);
    video.pause();
    this.#failed.add(source);
    this.#ready.delete(source);
    this.#chooseMaster();
    this.#emit('mediaerror', { source });
  }

  /** Makes the longest playable file the master, and the camera in a tie. */
  #chooseMaster() {
    const playable = [...this.#videos].filter(([source]) => this.#ready.has(source));
    playable.sort((a, b) => knownDuration(b[1]) - knownDuration(a[1]));
    const master = playable[0]?.[1] ?? null;
    const followers = playable.slice(1).map(([, video]) => video);
    if (master !== this.#master) {
      this.#bindMaster(master);
    }
    this.#followers = followers;
    this.#emit('statechange');
  }

  #bindMaster(master) {
    const time = this.#master?.currentTime ?? 0;
    const wasPlaying = this.#master && !this.#master.paused;
    this.#master?.pause();
    this.#master = master;
    if (!master) {
      return;
    }
    if (time > 0 || this.#startOf(master) > 0) {
      master.currentTime = Math.max(time, this.#startOf(master));
    }
    if (wasPlaying) {
      master.play().catch(() => {});
    }
  }

  #onMediaEvent(event) {
    if (event.target === this.#master) {
      this.#followMaster(event);
    } else if (this.#followers.includes(event.target) && event.type === 'seeked') {
      this.#onFollowerSeeked(event.target);
    }
  }

  #followMaster(event) {
    switch (event.type) {
      case 'play':
      case 'playing':
        this.#startDriftChecks();
        this.#syncFollowers();
        break;
      case 'pause':
      case 'ended':
      case 'waiting':
        for (const follower of this.#followers) {
          follower.pause();
        }
        if (event.type !== 'waiting') {
          this.#stopDriftChecks();
        }
        break;
      case 'seeking':
        for (const follower of this.#followers) {
          this.#followTo(follower, this.#master.currentTime, 0);
        }
        break;
      case 'seeked':
        this.#syncFollowers();
        break;
      default:
        break;
    }
    this.#emit(TIME_EVENTS.has(event.type) ? 'timeupdate' : 'statechange');
  }

  /** Seeks `follower` to `seconds` plus `leadS`, or parks it at its end. */
  #followTo(follower, seconds, leadS) {
    const end = knownDuration(follower);
    const target = Math.min(Math.max(this.#startOf(follower), seconds + leadS), end);
    follower.currentTime = target;
    this.#seekStartedAt.set(follower, performance.now());
  }

  /**
   * Reloads a file that Chromium failed to seek, with its start moved later, and returns
   * whether it did. A recorded start can precede the file's first keyframe a little, and
   * a seek before that keyframe fails the file.
   */
  #retrySeek(source, video) {
    const retries = this.#seekRetries.get(source) ?? 0;
    const seekFailed = /seek/i.test(video.error?.message ?? '');
    if (!seekFailed || retries >= MAX_SEEK_RETRIES) {
      return false;
    }
    console.warn(`recording ${source}: seek failed, reloading:`, video.error?.message);
    this.#seekRetries.set(source, retries + 1);
    this.#starts.set(video, this.#startOf(video) + SEEK_RETRY_STEP_S);
    const url = video.src;
    video.removeAttribute('src');
    video.load();
    video.src = url;
    return true;
  }

  #startOf(video) {
    return this.#starts.get(video) ?? 0;
  }

  #syncFollowers() {
    for (const follower of this.#followers) {
      this.#syncFollower(follower);
    }
  }

  /** Pulls `follower` back into step with the master and mirrors playing or paused. */
  #syncFollower(follower) {
    const master = this.#master;
    if (!master || follower.seeking || master.seeking) {
      return;
    }
    const atEnd = master.currentTime >= knownDuration(follower) - END_MARGIN_S;
    const start = this.#startOf(follower);
    const early = master.currentTime < start - MAX_DRIFT_S;
    if (atEnd || early || master.paused) {
      follower.pause();
    }
    if (atEnd) {
      return;
    }
    if (early) {
      // Parked at its first frame until the master reaches it.
      if (Math.abs(follower.currentTime - start) > MAX_DRIFT_S) {
        this.#followTo(follower, start, 0);
      }
      return;
    }
    if (Math.abs(follower.currentTime - master.currentTime) > MAX_DRIFT_S) {
      const lead = master.paused ? 0 : Math.min(this.#seekLatencyS * this.#rate, MAX_SEEK_LEAD_S);
      this.#followTo(follower, master.currentTime, lead);
    }
    if (!master.paused && follower.paused) {
      follower.play().catch(() => {});
    }
  }

  #onFollowerSeeked(follower) {
    const startedAt = this.#seekStartedAt.get(follower);
    if (startedAt === undefined) {
      return;
    }
    const latency = (performance.now() - startedAt) / 1000;
    this.#seekLatencyS = 0.5 * this.#seekLatencyS + 0.5 * latency;
    this.#seekStartedAt.delete(follower);
  }

  #startDriftChecks() {
    if (this.#driftTimer === null) {
      this.#driftTimer = setInterval(() => this.#syncFollowers(), DRIFT_CHECK_MS);
    }
  }

  #stopDriftChecks() {
    clearInterval(this.#driftTimer);
    this.#driftTimer = null;
  }

  #sourceOf(video) {
    for (const [source, candidate] of this.#videos) {
      if (candidate === video) {
        return source;
      }
    }
    return null;
  }

  #emit(type, detail = null) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
