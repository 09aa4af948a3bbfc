// One person's tile: name, video of the camera, the second camera and the screen, audio
// with a mute button, and a state: connecting, live, no-video, talk-audio (an expert's or
// organiser's talk audio and no video), reconnecting or disconnected. A participant's tile
// on an expert's page also has a talk button and shows who talks to the participant, with
// the talker's camera in a corner. Experts and organisers also see each person's
// connection quality.

import { setText } from './i18n.js';
import { FrameWatch } from './frame-watch.js';
import { formatClock } from './recording-format.js';
import { QualityBadge } from './quality-badge.js';
import { publishes } from './room.js';
import { TalkInset } from './talk-inset.js';

const VIDEO_SOURCES = ['camera', 'camera2', 'screen'];

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
  #onTalk;
  #talkButton;
  #talkLabel;
  #talkInset = new TalkInset();
  #ownTalk = false;
  #viewSizes;
  #quality = new QualityBadge();
  muted = false;
  state = 'connecting';

  /**
   * @param {string} identity the person's identity
   * @param {() => void} onAutoplayBlocked runs when the browser holds sound back
   * @param {((identity: string, start: boolean) => void)|null} onTalk runs when the talk
   *   button is pressed; without it the tile has no talk button
   * @param {import('./view-sizes.js').ViewSizes|null} viewSizes reports the size of each
   *   video to the server
   */
  constructor(identity, onAutoplayBlocked, onTalk = null, viewSizes = null) {
    this.identity = identity;
    this.#viewSizes = viewSizes;
    this.#onAutoplayBlocked = onAutoplayBlocked;
    this.#onTalk = onTalk;
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
      this.#name.title = peer.name;
      this.element.setAttribute('aria-label', peer.name);
      this.#connectionFailed = false;
    }
    this.#talkButton.hidden = !this.#onTalk || peer?.role !== 'participant';
    this.refreshState();
  }

  /**
   * Shows the talk to this person: `talk` is `{talker, name, started_unix_ms}` or null, and
   * `own` is true when the viewer is the talker. Someone else's talk disables the button.
   * `view`, when given, puts the talker's camera in a corner (see `TalkInset.show`).
   */
  showTalk(talk, own, view = null) {
    this.#talkInset.show(talk, view);
    this.#ownTalk = Boolean(talk) && own;
    this.#talkLabel.hidden = !talk;
    if (talk) {
      const since = formatClock(talk.started_unix_ms);
      setText(this.#talkLabel, 'tile.talking', { name: talk.name, since });
      this.#talkLabel.dataset.talker = talk.talker;
    }
    this.#talkButton.disabled = Boolean(talk) && !own;
    this.#talkButton.setAttribute('aria-pressed', String(this.#ownTalk));
    setText(this.#talkButton, this.#ownTalk ? 'tile.talk_stop' : 'tile.talk_start');
    this.element.classList.toggle('talking', Boolean(talk));
  }

  /** Returns what the talk inset shows, or null without one (`TalkInset.summary`). */
  talkInset() {
    return this.#talkInset.summary();
  }

  /** Shows the latest `connection_quality` report about this person, or nothing for null. */
  showQuality(report) {
    this.#quality.show(report);
  }

  /** Shows or plays a track from the receiving connection. */
  attach(info, track) {
    if (info.kind === 'audio') {
      this.#attachAudio(track);
    } else if (this.#videos.has(info.source)) {
      this.#attachVideo(info.source, track);
      this.#viewSizes?.observe(this.#videos.get(info.source).video, info.track);
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
        this.#viewSizes?.unobserve(entry.video);
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
      return publishes(this.#peer, 'talk') ? 'talk-audio' : 'no-video';
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
    const videosShown = [...this.#videos.values()].filter((entry) => entry.track !== null)
      .length;
    this.#media.classList.toggle('multi-video', videosShown > 1);
    this.#media.classList.toggle('three-videos', videosShown > 2);
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
    this.#talkLabel = element('span', 'tile-talk', { 'data-testid': 'tile-talk' });
    this.#talkLabel.hidden = true;
    this.#media.append(
      this.#placeholder,
      this.#stateLabel,
      this.#talkLabel,
      this.#talkInset.element,
      this.#quality.detail,
    );

    const bar = element('div', 'tile-bar');
    this.#name = element('span', 'tile-name');
    this.#talkButton = element('button', 'tile-mute tile-talk-button', {
      type: 'button',
      'data-testid': 'talk',
    });
    this.#talkButton.hidden = true;
    this.#muteButton = element('button', 'tile-mute', { type: 'button', 'data-testid': 'mute' });
    const actions = element('span', 'tile-actions');
    actions.append(this.#talkButton, this.#muteButton);
    bar.append(this.#name, this.#quality.indicator, actions);

    this.#audioBox = element('div', 'tile-audio');
    this.#audioBox.hidden = true;
    this.element.append(this.#media, bar, this.#audioBox);

    this.#muteButton.addEventListener('click', () => this.setMuted(!this.muted));
    this.#talkButton.addEventListener('click', () => this.#onTalk?.(this.identity, !this.#ownTalk));
    this.setMuted(false);
    this.showTalk(null, false);
  }
}
