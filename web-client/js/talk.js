// Talks in a contest room: which expert or organiser talks to which participant, kept
// current from `welcome.talks`, `talk_started` and `talk_stopped`. The server sends them to
// the participant talked to and to every expert and organiser in the room.
//
// Event: `change` (detail: `{participant, talk}`), where `talk` is
// `{talker, name, participant, started_unix_ms}` or null once the talk ended.

function toTalk({ talker, name, participant, started_unix_ms }) {
  return { talker, name, participant, started_unix_ms };
}

export class Talks extends EventTarget {
  #byParticipant = new Map(); // participant identity → talk

  /** @param {object[]} talks the talks in progress, from `welcome.talks` */
  constructor(talks = []) {
    super();
    for (const talk of talks) {
      this.#byParticipant.set(talk.participant, toTalk(talk));
    }
  }

  /** Returns the talk to `participant`, or null. */
  to(participant) {
    return this.#byParticipant.get(participant) ?? null;
  }

  /** Returns the talk in which `talker` talks, or null. */
  by(talker) {
    for (const talk of this.#byParticipant.values()) {
      if (talk.talker === talker) {
        return talk;
      }
    }
    return null;
  }

  /** Applies a talk message and returns false for messages of other kinds. */
  handle(message) {
    switch (message.type) {
      case 'talk_started':
        this.#set(message.participant, toTalk(message));
        return true;
      case 'talk_stopped':
        if (this.#byParticipant.get(message.participant)?.talker === message.talker) {
          this.#set(message.participant, null);
        }
        return true;
      default:
        return false;
    }
  }

  /**
   * Replaces every talk with the talks of a new `welcome`, after the socket was resumed,
   * and reports each talk that started or ended meanwhile.
   */
  reset(talks) {
    const current = new Map(talks.map((talk) => [talk.participant, toTalk(talk)]));
    for (const participant of [...this.#byParticipant.keys()]) {
      if (!current.has(participant)) {
        this.#set(participant, null);
      }
    }
    for (const [participant, talk] of current) {
      const known = this.#byParticipant.get(participant);
      if (known?.talker !== talk.talker || known.started_unix_ms !== talk.started_unix_ms) {
        this.#set(participant, talk);
      }
    }
  }

  /** Forgets every talk, because the session ended. */
  clear() {
    for (const participant of [...this.#byParticipant.keys()]) {
      this.#set(participant, null);
    }
  }

  #set(participant, talk) {
    if (talk) {
      this.#byParticipant.set(participant, talk);
    } else {
      this.#byParticipant.delete(participant);
    }
    this.dispatchEvent(new CustomEvent('change', { detail: { participant, talk } }));
  }
}

/** Checks whether a track `source` belongs to a talk: the talker's audio or camera. */
export function isTalkSource(source) {
  return source === 'talk' || source === 'talk_video';
}

/**
 * Plays the talk tracks of the receiving connection apart from the tiles: talk audio in
 * hidden <audio> elements, and talk video in `video` when the page gives one. A talk track
 * comes from an expert, who has no tile of their own. `onAutoplayBlocked` runs when the
 * browser blocks the sound.
 *
 * Event: `change` when a talk track starts or stops.
 */
export class TalkMedia extends EventTarget {
  #box;
  #video;
  #audios = new Map(); // track id → <audio>
  #tracks = new Map(); // track id → {info: offer entry `{identity, source, ...}`, track}
  #onAutoplayBlocked;

  /**
   * @param {() => void} onAutoplayBlocked runs when the browser holds sound back
   * @param {HTMLVideoElement|null} video shows the talk video; without it the page shows none
   */
  constructor(onAutoplayBlocked, video = null) {
    super();
    this.#onAutoplayBlocked = onAutoplayBlocked;
    this.#video = video;
    this.#box = document.createElement('div');
    this.#box.hidden = true;
    this.#box.dataset.testid = 'talk-audio';
    document.body.append(this.#box);
  }

  /** Plays the talk tracks of `session`'s receiving connection. */
  bind(session) {
    session.subscriber.addEventListener('trackadded', (event) => {
      const { info, track } = event.detail;
      if (isTalkSource(info.source)) {
        this.#add(info, track);
      }
    });
    session.subscriber.addEventListener('trackremoved', (event) => {
      const { info, track } = event.detail;
      if (isTalkSource(info.source)) {
        this.#remove(track);
      }
    });
  }

  /** Checks whether a talk track from `source` of `talker` arrives now. */
  receives(talker, source) {
    return [...this.#tracks.values()].some(
      ({ info }) => info.identity === talker && info.source === source,
    );
  }

  /** Returns the talk video track of `talker` that arrives now, or null. */
  videoOf(talker) {
    for (const { info, track } of this.#tracks.values()) {
      if (info.identity === talker && info.source === 'talk_video') {
        return track;
      }
    }
    return null;
  }

  /** Retries sound that the browser's autoplay policy held back. */
  resume() {
    for (const audio of this.#audios.values()) {
      audio.play().catch(() => {});
    }
  }

  #add(info, track) {
    this.#remove(track);
    this.#tracks.set(track.id, { info, track });
    if (info.kind === 'audio') {
      this.#play(track);
    } else if (this.#video) {
      // One talker at a time talks to a participant, so one element shows their video.
      this.#video.srcObject = new MediaStream([track]);
    }
    this.dispatchEvent(new Event('change'));
  }

  #remove(track) {
    if (!this.#tracks.delete(track.id)) {
      return;
    }
    this.#audios.get(track.id)?.remove();
    this.#audios.delete(track.id);
    if (this.#video?.srcObject?.getVideoTracks()[0] === track) {
      this.#video.srcObject = null;
    }
    this.dispatchEvent(new Event('change'));
  }

  #play(track) {
    const audio = document.createElement('audio');
    audio.autoplay = true;
    audio.srcObject = new MediaStream([track]);
    this.#audios.set(track.id, audio);
    this.#box.append(audio);
    audio.play().catch((error) => {
      if (error.name === 'NotAllowedError') {
        this.#onAutoplayBlocked();
      }
    });
  }
}
