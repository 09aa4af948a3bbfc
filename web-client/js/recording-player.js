// Plays a recording's camera and screen files side by side as one: the longer file is the
// master clock, and the other follows it. Play, pause, seek and rate go to both. While
// playing, a follower more than 0.25 s away from the master is seeked back into step.
//
// Both files start at the recording's start (t = 0 is manifest.started_unix_ms), so equal
// currentTime means equal wall-clock time of the session.
//
// Events: `timeupdate` (the master's time moved), `statechange` (play, pause, rate, which
// files are ready) and `mediaerror` (detail: {source}) when a file cannot be played.

const MAX_DRIFT_S = 0.25;
const DRIFT_CHECK_MS = 250;
// A seek takes time, so a follower that seeks to the master's current position arrives late.
// It aims ahead by the last seek's duration times the rate, at most this far.
const MAX_SEEK_LEAD_S = 2;
const END_MARGIN_S = 0.05;
const MEDIA_EVENTS = ['play', 'playing', 'pause', 'ended', 'waiting', 'seeking', 'seeked',
  'timeupdate'];
const TIME_EVENTS = new Set(['timeupdate', 'seeking', 'seeked']);

/** Duration of a video in seconds, or 0 while unknown. */
function knownDuration(video) {
  return Number.isFinite(video.duration) ? video.duration : 0;
}

export class SyncedPlayer extends EventTarget {
  #videos; // source → <video>, only sources that have a file
  #ready = new Set();
  #failed = new Set();
  #master = null;
  #follower = null;
  #rate = 1;
  #forcedMute = false;
  #seekStartedAt = null;
  #seekLatencyS = 0.1;
  #driftTimer = null;
  #listeners = new AbortController();
  #earliest = 0;

  /**
   * @param {{camera: HTMLVideoElement, screen: HTMLVideoElement}} elements
   * @param {{camera?: string, screen?: string}} media the recording's `media` URLs
   * @param {number} earliest seconds before which no seek goes: the first video frame of
   *   the files. Chromium cannot seek a WebM file to before its first video frame when its
   *   audio blocks carry no keyframe flags, as GStreamer writes them.
   */
  constructor(elements, media, earliest = 0) {
    super();
    this.#earliest = Math.max(0, earliest);
    this.#videos = new Map();
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

  /** Starts both files from the master's position. */
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

  /** Moves both files to `seconds` from the recording's start, clamped to the length. */
  seek(seconds) {
    if (!this.#master || !Number.isFinite(seconds)) {
      return;
    }
    const target = Math.min(Math.max(this.#earliest, seconds), this.duration || seconds);
    this.#master.currentTime = target; // the master's `seeking` event moves the follower
  }

  /**
   * Sets the playback rate of both files. When the browser rejects a rate with sound, the
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
        playbackRate: video.playbackRate,
        muted: video.muted,
      };
    }
    return {
      master: this.#sourceOf(this.#master),
      follower: this.#sourceOf(this.#follower),
      currentTime: this.currentTime,
      duration: this.duration,
      paused: this.paused,
      rate: this.#rate,
      mutedForRate: this.#forcedMute,
      ready: this.#videos.size > 0 && this.#ready.size + this.#failed.size === this.#videos.size,
      sources,
    };
  }

  /** Stops playback and releases both files. */
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
    video.muted = source !== 'camera'; // only the camera file carries the microphone
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
    const camera = this.#videos.get('camera');
    if (camera && muted !== this.#forcedMute) {
      camera.muted = muted;
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
    const follower = playable[1]?.[1] ?? null;
    if (master !== this.#master) {
      this.#bindMaster(master, follower);
    }
    this.#follower = follower;
    this.#emit('statechange');
  }

  #bindMaster(master, follower) {
    const time = this.#master?.currentTime ?? 0;
    const wasPlaying = this.#master && !this.#master.paused;
    this.#master?.pause();
    this.#master = master;
    this.#follower = follower;
    if (!master) {
      return;
    }
    if (time > 0) {
      master.currentTime = time;
    }
    if (wasPlaying) {
      master.play().catch(() => {});
    }
  }

  #onMediaEvent(event) {
    if (event.target === this.#master) {
      this.#followMaster(event);
    } else if (event.target === this.#follower && event.type === 'seeked') {
      this.#onFollowerSeeked();
    }
  }

  #followMaster(event) {
    const follower = this.#follower;
    switch (event.type) {
      case 'play':
      case 'playing':
        this.#startDriftChecks();
        this.#syncFollower();
        break;
      case 'pause':
      case 'ended':
      case 'waiting':
        follower?.pause();
        if (event.type !== 'waiting') {
          this.#stopDriftChecks();
        }
        break;
      case 'seeking':
        this.#followTo(this.#master.currentTime, 0);
        break;
      case 'seeked':
        this.#syncFollower();
        break;
      default:
        break;
    }
    this.#emit(TIME_EVENTS.has(event.type) ? 'timeupdate' : 'statechange');
  }

  /** Seeks the follower to `seconds` plus `leadS`, or parks it at its end. */
  #followTo(seconds, leadS) {
    const follower = this.#follower;
    if (!follower) {
      return;
    }
    const end = knownDuration(follower);
    const target = Math.min(Math.max(this.#earliest, seconds + leadS), end);
    follower.currentTime = target;
    this.#seekStartedAt = performance.now();
  }

  /** Pulls the follower back into step with the master and mirrors playing or paused. */
  #syncFollower() {
    const master = this.#master;
    const follower = this.#follower;
    if (!master || !follower || follower.seeking || master.seeking) {
      return;
    }
    const atEnd = master.currentTime >= knownDuration(follower) - END_MARGIN_S;
    if (atEnd || master.paused) {
      follower.pause();
    }
    if (atEnd) {
      return;
    }
    if (Math.abs(follower.currentTime - master.currentTime) > MAX_DRIFT_S) {
      const lead = master.paused ? 0 : Math.min(this.#seekLatencyS * this.#rate, MAX_SEEK_LEAD_S);
      this.#followTo(master.currentTime, lead);
    }
    if (!master.paused && follower.paused) {
      follower.play().catch(() => {});
    }
  }

  #onFollowerSeeked() {
    if (this.#seekStartedAt === null) {
      return;
    }
    const latency = (performance.now() - this.#seekStartedAt) / 1000;
    this.#seekLatencyS = 0.5 * this.#seekLatencyS + 0.5 * latency;
    this.#seekStartedAt = null;
  }

  #startDriftChecks() {
    if (this.#driftTimer === null) {
      this.#driftTimer = setInterval(() => this.#syncFollower(), DRIFT_CHECK_MS);
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
