// The people in the room and the tracks each one publishes, kept current from `welcome`,
// `peer_joined`, `peer_left`, `track_published`, `track_unpublished`, `peer_reconnecting`
// and `peer_reconnected`.
//
// Event: `change` (detail: `{identity, peer}`), where `peer` is null once the person left.

function toPeer({ identity, name, role, tracks, reconnecting = false }) {
  const byId = new Map(tracks.map((info) => [info.track, info]));
  return { identity, name, role, tracks: byId, reconnecting };
}

export class Room extends EventTarget {
  /** Everyone in the room except the client itself, by identity. */
  peers = new Map();
  #admitted = new Set(); // people added by `admit`, whom no welcome lists

  constructor(welcome) {
    super();
    this.id = welcome.room;
    this.self = welcome.identity;
    for (const peer of welcome.peers) {
      this.peers.set(peer.identity, toPeer(peer));
    }
  }

  /**
   * Replaces everyone with the people of a new `welcome`, after the socket was resumed.
   * People added by `admit` stay, with their tracks, because the server never lists them.
   */
  reset(welcome) {
    const present = new Set(welcome.peers.map((peer) => peer.identity));
    for (const identity of [...this.peers.keys()]) {
      if (!present.has(identity) && !this.#admitted.has(identity)) {
        this.peers.delete(identity);
        this.#changed(identity);
      }
    }
    for (const peer of welcome.peers) {
      this.peers.set(peer.identity, toPeer(peer));
      this.#changed(peer.identity);
    }
  }

  /** Applies a room message and returns false for messages of other kinds. */
  handle(message) {
    switch (message.type) {
      case 'peer_joined':
        this.peers.set(message.identity, toPeer(message));
        break;
      case 'peer_left':
        this.peers.delete(message.identity);
        this.#admitted.delete(message.identity);
        break;
      case 'track_published':
        this.peers.get(message.identity)?.tracks.set(message.track, message);
        break;
      case 'track_unpublished':
        this.peers.get(message.identity)?.tracks.delete(message.track);
        break;
      case 'peer_reconnecting':
      case 'peer_reconnected': {
        const peer = this.peers.get(message.identity);
        if (peer) {
          peer.reconnecting = message.type === 'peer_reconnecting';
        }
        break;
      }
      default:
        return false;
    }
    this.#changed(message.identity);
    return true;
  }

  /**
   * Adds a person the server does not announce to this client, such as the participant
   * who has the floor in a briefing, seen by other participants.
   */
  admit({ identity, name, role }) {
    if (identity !== this.self && !this.peers.has(identity)) {
      this.peers.set(identity, toPeer({ identity, name, role, tracks: [] }));
      this.#admitted.add(identity);
    }
    this.#changed(identity);
  }

  /** Reports `identity` as changed, so that views check again whether to show them. */
  refresh(identity) {
    this.#changed(identity);
  }

  #changed(identity) {
    const peer = this.peers.get(identity) ?? null;
    this.dispatchEvent(new CustomEvent('change', { detail: { identity, peer } }));
  }
}

/** Checks whether `peer` publishes a track from `source`. */
export function publishes(peer, source) {
  for (const info of peer.tracks.values()) {
    if (info.source === source) {
      return true;
    }
  }
  return false;
}
