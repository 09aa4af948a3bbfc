// The talker's picture in the corner of a participant's tile on an expert's page: the
// talker's camera as received from the server, or on the talker's own page a local view of
// their camera, labelled with the talker's name. A talk without a camera shows the name
// and a note that the talk is audio only.

import { setText } from './i18n.js';

export class TalkInset {
  #video;
  #name;
  #audioOnly;
  #talker = null;
  #self = false;

  constructor() {
    this.element = document.createElement('figure');
    this.element.className = 'tile-talk-inset';
    this.element.dataset.testid = 'tile-talk-inset';
    this.element.hidden = true;

    this.#video = document.createElement('video');
    this.#video.className = 'tile-talk-inset-video';
    this.#video.dataset.testid = 'tile-talk-inset-video';
    this.#video.autoplay = true;
    this.#video.playsInline = true;
    this.#video.muted = true; // the talk audio plays in `TalkMedia`'s elements
    this.#video.hidden = true;

    const caption = document.createElement('figcaption');
    this.#name = document.createElement('span');
    this.#name.className = 'tile-talk-inset-name';
    this.#audioOnly = document.createElement('span');
    this.#audioOnly.className = 'tile-talk-inset-audio-only';
    this.#audioOnly.hidden = true;
    setText(this.#audioOnly, 'tile.talk_inset_audio_only');
    caption.append(this.#name, this.#audioOnly);
    this.element.append(this.#video, caption);
  }

  /**
   * Shows `talk` (`{talker, name}`) with `view`: `track` is the camera track to show or
   * null, `audioOnly` whether the talk is known to have no video, and `self` whether the
   * viewer is the talker, so the track is their own camera. Null for either hides the
   * inset.
   */
  show(talk, view) {
    if (!talk || !view) {
      this.#talker = null;
      this.#setTrack(null);
      this.element.hidden = true;
      return;
    }
    this.#talker = talk.talker;
    this.#self = view.self;
    this.#setTrack(view.track);
    this.#audioOnly.hidden = view.track !== null || !view.audioOnly;
    setText(this.#name, view.self ? 'tile.talk_inset_self' : 'tile.talk_inset_name', {
      name: talk.name,
    });
    this.#name.title = talk.name;
    this.element.hidden = false;
  }

  /**
   * Returns what the inset shows, for tests: `{talker, name, self, video, audioOnly,
   * videoWidth}`, or null while it is hidden. `videoWidth` is above zero once frames decode.
   */
  summary() {
    if (this.#talker === null) {
      return null;
    }
    return {
      talker: this.#talker,
      name: this.#name.textContent,
      self: this.#self,
      video: !this.#video.hidden,
      audioOnly: !this.#audioOnly.hidden,
      videoWidth: this.#video.srcObject ? this.#video.videoWidth : 0,
    };
  }

  #setTrack(track) {
    const current = this.#video.srcObject?.getVideoTracks()[0] ?? null;
    if (current !== track) {
      this.#video.srcObject = track ? new MediaStream([track]) : null;
    }
    this.#video.hidden = track === null;
  }
}
