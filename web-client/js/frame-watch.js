// Tells whether a <video> is showing new frames, for the tile's "live" state.

const LIVE_WINDOW_MS = 2000; // a frame within this window counts as live

const hasFrameCallback = 'requestVideoFrameCallback' in HTMLVideoElement.prototype;

export class FrameWatch {
  #video;
  #lastFrameAt = -Infinity;
  #lastTime = -1;

  constructor(video) {
    this.#video = video;
    if (hasFrameCallback) {
      const onFrame = () => {
        this.#lastFrameAt = performance.now();
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    }
  }

  /** Whether a frame arrived within the last two seconds. */
  isLive(now = performance.now()) {
    if (!hasFrameCallback) {
      this.#pollPlaybackTime(now);
    }
    return this.#video.srcObject !== null && now - this.#lastFrameAt < LIVE_WINDOW_MS;
  }

  // Without requestVideoFrameCallback, advancing playback time stands in for frames.
  #pollPlaybackTime(now) {
    const video = this.#video;
    const hasFrame = video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA;
    if (hasFrame && video.currentTime !== this.#lastTime) {
      this.#lastTime = video.currentTime;
      this.#lastFrameAt = now;
    }
  }
}
