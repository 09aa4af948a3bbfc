// One person's tile: name, camera and screen video, audio with a mute button, and a
// state: connecting, live, no-video, reconnecting or disconnected.

import { setText } from './i18n.js';
import { FrameWatch } from './frame-watch.js';
import { publishes } from './room.js';

const VIDEO_SOURCES = ['camera', 'screen'];

function element(tag, className, attributes = {}) {
  const node = document.createElement(tag);
  node.className = className;
  for (const [name, value] of Object.entries(attributes)) {
    node.setAttribute(name, value);
  }
  return node;
}

function createVideo(source) {
  const video = element('video', 'tile-video', {
    'data-source': source,
    'data-testid': `tile-${source}`,
  });
  video.autoplay = true;
  video.playsInline = true;
  video.muted = true; // sound plays through the tile's <audio> elements
  video.hidden = true;
  return video;
}

export class Tile {
  #media;
  #name;
  #stateLabel;
  #placeholder;
  #muteButton;
  #audioBox;
  #videos = new Map(); // source → {video, watch, track}
  #audios = new Map(); // track id → <audio>
  #peer = null; // room entry; null once the person left
  #connectionFailed = false;
  #onAutoplayBlocked;
  muted = false;
  state = 'connecting';

  constructor(identity, onAutoplayBlocked) {
    this.identity = identity;
    this.#onAutoplayBlocked = onAutoplayBlocked;
    this.element = element('article', 'tile', {
      'data-testid': 'tile',
      'data-identity': identity,
      tabindex: '0',
    });
    this.#build();
  }

  /** Takes the latest room entry for this person, or null when they left. */
  update(peer) {
    this.#peer = peer;
    if (peer) {
      this.#name.textContent = peer.name;
      this.element.setAttribute('aria-label', peer.name);
      this.#connectionFailed = false;
    }
    this.refreshState();
  }

  /** Shows or plays a track from the receiving connection. */
  attach(info, track) {
    if (info.kind === 'audio') {
      this.#attachAudio(track);
    } else if (this.#videos.has(info.source)) {
      this.#attachVideo(info.source, track);
    }
    track.addEventListener('ended', () => this.detach(info, track));
    this.refreshState();
  }

  /** Removes a track that the receiving connection no longer carries. */
  detach(info, track) {
    if (info.kind === 'audio') {
      this.#audios.get(track.id)?.remove();
      this.#audios.delete(track.id);
    } else {
      const entry = this.#videos.get(info.source);
      if (entry?.track === track) {
        this.#attachVideo(info.source, null);
      }
    }
    this.refreshState();
  }

  /** Marks the tile disconnected because the receiving connection failed or closed. */
  markConnectionFailed() {
    this.#connectionFailed = true;
    this.refreshState();
  }

  /** Mutes or unmutes this person's sound. */
  setMuted(muted) {
    this.muted = muted;
    for (const audio of this.#audios.values()) {
      audio.muted = muted;
    }
    this.#muteButton.setAttribute('aria-pressed', String(muted));
    setText(this.#muteButton, muted ? 'tile.unmute' : 'tile.mute');
  }

  /** Retries sound that the browser's autoplay policy held back. */
  resumeAudio() {
    for (const audio of this.#audios.values()) {
      audio.play().catch(() => {});
    }
  }

  /** Recomputes the state from presence, published tracks and arriving frames. */
  refreshState() {
    const state = this.#computeState();
    if (state !== this.state || !this.element.dataset.state) {
      this.state = state;
      this.element.dataset.state = state;
      setText(this.#stateLabel, `tile.state.${state}`);
      setText(this.#placeholder, `tile.state.${state}`);
    }
    this.#placeholder.hidden = state === 'live';
    return state;
  }

  #computeState() {
    if (!this.#peer || this.#connectionFailed) {
      return 'disconnected';
    }
    if (this.#peer.reconnecting) {
      return 'reconnecting';
    }
    const sendsVideo = VIDEO_SOURCES.some((source) => publishes(this.#peer, source));
    if (!sendsVideo) {
      return 'no-video';
    }
    const now = performance.now();
    const live = [...this.#videos.values()].some(({ watch }) => watch.isLive(now));
    return live ? 'live' : 'connecting';
  }

  #attachVideo(source, track) {
    const entry = this.#videos.get(source);
    entry.track = track;
    entry.video.srcObject = track ? new MediaStream([track]) : null;
    entry.video.hidden = track === null;
    const screen = this.#videos.get('screen');
    this.#media.classList.toggle('has-screen', screen.track !== null);
  }

  #attachAudio(track) {
    const audio = element('audio', 'tile-audio-track');
    audio.autoplay = true;
    audio.muted = this.muted;
    audio.srcObject = new MediaStream([track]);
    this.#audios.set(track.id, audio);
    this.#audioBox.append(audio);
    audio.play().catch((error) => {
      if (error.name === 'NotAllowedError') {
        this.#onAutoplayBlocked();
      }
    });
  }

  #build() {
    this.#media = element('div', 'tile-media');
    for (const source of VIDEO_SOURCES) {
      const video = createVideo(source);
      this.#videos.set(source, { video, watch: new FrameWatch(video), track: null });
      this.#media.append(video);
    }
    this.#placeholder = element('p', 'tile-placeholder');
    this.#stateLabel = element('span', 'tile-state');
    this.#media.append(this.#placeholder, this.#stateLabel);

    const bar = element('div', 'tile-bar');
    this.#name = element('span', 'tile-name');
    this.#muteButton = element('button', 'tile-mute', { type: 'button', 'data-testid': 'mute' });
    bar.append(this.#name, this.#muteButton);

    this.#audioBox = element('div', 'tile-audio');
    this.#audioBox.hidden = true;
    this.element.append(this.#media, bar, this.#audioBox);

    this.#muteButton.addEventListener('click', () => this.setMuted(!this.muted));
    this.setMuted(false);
  }
}
