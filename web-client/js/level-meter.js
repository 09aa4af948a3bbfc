// Microphone level shown in a <meter>, measured with a WebAudio AnalyserNode.

const FLOOR_DB = -60; // levels at or below this show as an empty meter

let sharedContext = null;

function audioContext() {
  if (!sharedContext) {
    sharedContext = new AudioContext();
    // Browsers start an AudioContext suspended until the user interacts with the page.
    const resume = () => sharedContext.resume();
    document.addEventListener('pointerdown', resume, { once: true });
    document.addEventListener('keydown', resume, { once: true });
  }
  if (sharedContext.state === 'suspended') {
    sharedContext.resume().catch(() => {});
  }
  return sharedContext;
}

/** Converts time-domain samples in [-1, 1] to a level in [0, 1] on a decibel scale. */
export function levelOf(samples) {
  let sum = 0;
  for (const sample of samples) {
    sum += sample * sample;
  }
  const rms = Math.sqrt(sum / samples.length);
  const decibels = rms > 0 ? 20 * Math.log10(rms) : FLOOR_DB;
  return Math.min(1, Math.max(0, (decibels - FLOOR_DB) / -FLOOR_DB));
}

export class LevelMeter {
  #meter;
  #source = null;
  #analyser = null;
  #samples = null;
  #frame = 0;

  constructor(meter) {
    this.#meter = meter;
  }

  /** Starts measuring `track`, replacing the track measured before. */
  attach(track) {
    this.detach();
    const context = audioContext();
    this.#source = context.createMediaStreamSource(new MediaStream([track]));
    this.#analyser = context.createAnalyser();
    this.#analyser.fftSize = 1024;
    this.#samples = new Float32Array(this.#analyser.fftSize);
    this.#source.connect(this.#analyser);
    this.#tick();
  }

  /** Stops measuring and empties the meter. */
  detach() {
    cancelAnimationFrame(this.#frame);
    this.#source?.disconnect();
    this.#source = null;
    this.#analyser = null;
    this.#meter.value = 0;
  }

  #tick() {
    this.#analyser.getFloatTimeDomainData(this.#samples);
    this.#meter.value = levelOf(this.#samples);
    this.#frame = requestAnimationFrame(() => this.#tick());
  }
}
