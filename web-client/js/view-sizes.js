// Tells the server at what size each received video is shown (`video_size`), so that it
// forwards the simulcast layer that suits it: a small one to a grid tile, the full one to
// an enlarged view. A video that is hidden has the size 0x0 and gets the smallest layer.

// Resizes during a layout change come in bursts; only the size they settle on is sent.
const SETTLE_MS = 250;

export class ViewSizes {
  #send;
  #observer;
  #tracks = new Map(); // <video> → track id
  #sent = new Map(); // track id → "widthxheight" last sent
  #pending = new Map(); // track id → {width, height} not sent yet
  #timer = null;

  /** `send(message)` sends a signalling message on the session's current socket. */
  constructor(send) {
    this.#send = send;
    this.#observer = new ResizeObserver((entries) => this.#onResize(entries));
  }

  /** Reports the size of `video`, which shows the server's track `track`, from now on. */
  observe(video, track) {
    this.#tracks.set(video, track);
    this.#observer.observe(video);
  }

  /** Stops reporting `video`. */
  unobserve(video) {
    const track = this.#tracks.get(video);
    this.#tracks.delete(video);
    this.#observer.unobserve(video);
    this.#sent.delete(track);
    this.#pending.delete(track);
  }

  #onResize(entries) {
    const scale = window.devicePixelRatio || 1;
    for (const entry of entries) {
      const track = this.#tracks.get(entry.target);
      if (track === undefined) {
        continue;
      }
      const box = entry.contentRect;
      const width = Math.round(box.width * scale);
      const height = Math.round(box.height * scale);
      this.#pending.set(track, { width, height });
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#flush(), SETTLE_MS);
  }

  #flush() {
    for (const [track, { width, height }] of this.#pending) {
      const key = `${width}x${height}`;
      if (this.#sent.get(track) !== key) {
        this.#sent.set(track, key);
        this.#send({ type: 'video_size', track, width, height });
      }
    }
    this.#pending.clear();
  }
}
