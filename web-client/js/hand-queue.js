// The organiser's view of raised hands and of the floor: give a participant the floor from
// the queue, take it back, or lower a hand.

import { setText } from './i18n.js';

function button(testId, key, className = 'button') {
  const node = document.createElement('button');
  node.type = 'button';
  node.className = className;
  node.dataset.testid = testId;
  setText(node, key);
  return node;
}

export class HandQueue {
  #root;
  #list;
  #floor;
  #floorName;
  #session = null;

  constructor(root) {
    this.#root = root;
    this.#list = root.querySelector('[data-testid="hand-queue"]');
    this.#floor = root.querySelector('[data-testid="floor-holder"]');
    this.#floorName = root.querySelector('[data-testid="floor-holder-name"]');
    root
      .querySelector('[data-testid="take-floor"]')
      .addEventListener('click', () => this.#send({ type: 'take_floor' }));
  }

  /** Shows the queue of `session.briefing` and keeps it current. */
  bind(session) {
    this.#session = session;
    this.#root.hidden = false;
    session.briefing.addEventListener('hands', () => this.#render());
    session.briefing.addEventListener('floor', () => this.#render());
    this.#render();
  }

  #send(message) {
    if (this.#session?.phase === 'joined') {
      this.#session.signalling.send(message);
    }
  }

  #render() {
    const { hands, floor } = this.#session.briefing;
    this.#floor.hidden = floor === null;
    this.#floorName.textContent = floor?.name ?? '';
    this.#floor.dataset.identity = floor?.identity ?? '';

    this.#list.replaceChildren();
    for (const hand of hands) {
      const item = document.createElement('li');
      item.className = 'hand';
      item.dataset.testid = 'hand';
      item.dataset.identity = hand.identity;
      const name = document.createElement('span');
      name.textContent = hand.name;
      const give = button('give-floor', 'briefing.give_floor', 'button primary');
      give.addEventListener('click', () =>
        this.#send({ type: 'give_floor', identity: hand.identity }),
      );
      const lower = button('lower-hand', 'briefing.lower_hand');
      lower.addEventListener('click', () =>
        this.#send({ type: 'lower_hand', identity: hand.identity }),
      );
      item.append(name, give, lower);
      this.#list.append(item);
    }
    const empty = this.#root.querySelector('[data-testid="hand-queue-empty"]');
    empty.hidden = hands.length > 0;
  }
}
