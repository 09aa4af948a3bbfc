// Notes on participants' tiles about their phone cameras, from `phone_camera` messages:
// connecting, on, or stopped with how to resume. A note stays until the next message
// about the same participant, and comes back when the tile is created again.

import { setText } from './i18n.js';

export class PhoneCameraNotes {
  #container;
  #states = new Map(); // identity → last state

  /** @param {HTMLElement} container the grid element that contains the tiles */
  constructor(container) {
    this.#container = container;
  }

  /** Follows `session`'s messages, and puts the notes back on tiles `grid` re-creates. */
  bind(session, grid) {
    this.#states.clear();
    session.addEventListener('phonecamera', (event) => {
      const { identity, state } = event.detail;
      this.#states.set(identity, state);
      this.#render(identity);
    });
    grid.addEventListener('change', () => {
      for (const identity of this.#states.keys()) {
        this.#render(identity);
      }
    });
  }

  #render(identity) {
    const tile = this.#container.querySelector(
      `[data-testid="tile"][data-identity="${CSS.escape(identity)}"]`,
    );
    if (!tile) {
      return;
    }
    let note = tile.querySelector('[data-testid="tile-phone-camera"]');
    if (!note) {
      note = document.createElement('p');
      note.className = 'tile-phone-camera';
      note.dataset.testid = 'tile-phone-camera';
      tile.append(note);
    }
    const state = this.#states.get(identity);
    note.dataset.state = state;
    setText(note, `phone_camera.${state}`);
  }
}
