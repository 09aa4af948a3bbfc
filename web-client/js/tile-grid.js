// The grid of other people's tiles for one session: kept current from the room model and
// the receiving connection. A click on a tile (or Enter) enlarges it; another click or
// Escape returns it to the grid. The size each video is shown at goes to the server, which
// forwards a small camera layer to a grid tile and the full one to an enlarged tile.
//
// Event: `change` when tiles are added or removed.

import { isTalkSource } from './talk.js';
import { Tile } from './tile.js';
import { ViewSizes } from './view-sizes.js';

const REFRESH_INTERVAL_MS = 500;

export class TileGrid extends EventTarget {
  #container;
  #include;
  #onAutoplayBlocked;
  #onTalk;
  #talkView;
  #tiles = new Map(); // identity → Tile
  #session = null;
  #enlarged = null;
  #viewSizes = new ViewSizes((message) => this.#session?.signalling?.send(message));

  /**
   * @param {HTMLElement} container the grid element
   * @param {object} options `include(peer)` decides who gets a tile; `onAutoplayBlocked`
   *   runs when the browser blocks sound until a user gesture; `onTalk(identity, start)`,
   *   when given, puts a talk button on participants' tiles. `talkView(talk, own)`, when
   *   given, returns the talker's camera for the corner of the tile talked to, in the form
   *   `TalkInset.show` takes.
   */
  constructor(container, { include, onAutoplayBlocked, onTalk = null, talkView = null }) {
    super();
    this.#container = container;
    this.#include = include;
    this.#onAutoplayBlocked = onAutoplayBlocked;
    this.#onTalk = onTalk;
    this.#talkView = talkView;
    container.addEventListener('click', (event) => this.#onClick(event));
    container.addEventListener('keydown', (event) => this.#onKey(event));
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        this.#enlarge(null);
      }
    });
    setInterval(() => this.#refresh(), REFRESH_INTERVAL_MS);
  }

  /** Shows the people of `session`, replacing the tiles of any earlier session. */
  bind(session) {
    this.#session = session;
    this.#clear();
    for (const peer of session.room.peers.values()) {
      this.#sync(peer.identity, peer);
    }
    session.room.addEventListener('change', (event) => {
      this.#sync(event.detail.identity, event.detail.peer);
    });
    session.subscriber.addEventListener('trackadded', (event) => {
      const { info, track } = event.detail;
      // Talk audio and video play apart from the tiles (`TalkMedia`), also an organiser's.
      if (!isTalkSource(info.source)) {
        this.#tileFor(info.identity)?.attach(info, track);
      }
    });
    session.subscriber.addEventListener('trackremoved', (event) => {
      const { info, track } = event.detail;
      this.#tiles.get(info.identity)?.detach(info, track);
    });
    session.quality.addEventListener('change', (event) => {
      this.#tiles.get(event.detail.identity)?.showQuality(event.detail.report);
    });
    session.talks.addEventListener('change', (event) => {
      this.#showTalk(event.detail.participant);
      this.#syncAll(); // `include` may depend on who talks to whom
    });
    session.addEventListener('ended', () => this.#markAllDisconnected());
  }

  /** Returns the state of each tile by identity, for tests and diagnostics. */
  summary() {
    return Object.fromEntries([...this.#tiles].map(([identity, tile]) => [identity, tile.state]));
  }

  /** Returns what the talk inset of each tile that has one shows, by identity. */
  talkInsets() {
    const insets = {};
    for (const [identity, tile] of this.#tiles) {
      const inset = tile.talkInset();
      if (inset) {
        insets[identity] = inset;
      }
    }
    return insets;
  }

  /** Shows the talk on every tile again, after the talk media changed. */
  refreshTalks() {
    for (const identity of this.#tiles.keys()) {
      this.#showTalk(identity);
    }
  }

  /** The number of tiles. */
  get size() {
    return this.#tiles.size;
  }

  /** Retries sound on every tile, from a user gesture. */
  resumeAudio() {
    for (const tile of this.#tiles.values()) {
      tile.resumeAudio();
    }
  }

  #sync(identity, peer) {
    const tile = this.#tiles.get(identity);
    if (peer && this.#include(peer)) {
      this.#tileFor(identity).update(peer);
    } else if (peer && tile) {
      this.#remove(identity); // present, but no longer someone this grid shows
    } else if (tile) {
      tile.update(null); // left: the tile stays, marked disconnected
    }
  }

  #syncAll() {
    for (const peer of this.#session.room.peers.values()) {
      this.#sync(peer.identity, peer);
    }
  }

  #showTalk(identity) {
    const talk = this.#session?.talks.to(identity) ?? null;
    const own = talk !== null && talk.talker === this.#session.room.self;
    const view = talk && this.#talkView ? this.#talkView(talk, own) : null;
    this.#tiles.get(identity)?.showTalk(talk, own, view);
  }

  #tileFor(identity) {
    const existing = this.#tiles.get(identity);
    if (existing) {
      return existing;
    }
    const peer = this.#session?.room.peers.get(identity);
    if (!peer || !this.#include(peer)) {
      return null;
    }
    const tile = new Tile(identity, this.#onAutoplayBlocked, this.#onTalk, this.#viewSizes);
    tile.update(peer);
    tile.showQuality(this.#session.quality.get(identity));
    this.#tiles.set(identity, tile);
    this.#showTalk(identity);
    this.#container.append(tile.element);
    this.dispatchEvent(new Event('change'));
    return tile;
  }

  #remove(identity) {
    const tile = this.#tiles.get(identity);
    if (this.#enlarged === tile) {
      this.#enlarge(null);
    }
    tile.element.remove();
    this.#tiles.delete(identity);
    this.dispatchEvent(new Event('change'));
  }

  #clear() {
    for (const identity of [...this.#tiles.keys()]) {
      this.#remove(identity);
    }
  }

  #markAllDisconnected() {
    for (const tile of this.#tiles.values()) {
      tile.markConnectionFailed();
    }
  }

  #refresh() {
    for (const tile of this.#tiles.values()) {
      tile.refreshState();
    }
  }

  #tileOf(target) {
    const element = target.closest('[data-testid="tile"]');
    return element ? this.#tiles.get(element.dataset.identity) : undefined;
  }

  #onClick(event) {
    if (event.target.closest('button')) {
      return;
    }
    const tile = this.#tileOf(event.target);
    if (tile) {
      this.#enlarge(this.#enlarged === tile ? null : tile);
    }
  }

  #onKey(event) {
    if ((event.key === 'Enter' || event.key === ' ') && event.target.matches('.tile')) {
      event.preventDefault();
      this.#onClick(event);
    }
  }

  #enlarge(tile) {
    this.#enlarged?.element.classList.remove('enlarged');
    this.#enlarged = tile;
    tile?.element.classList.add('enlarged');
    this.#container.classList.toggle('has-enlarged', tile !== null);
  }
}
