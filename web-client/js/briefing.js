// The state of a briefing: who has the floor, the raised hands and the chat, kept current
// from `welcome.briefing` and the messages `hand_raised`, `hand_lowered`, `floor_given`,
// `floor_taken` and `chat_message`.
//
// Events: `floor` when the floor changes (detail: `{holder, previous}`, each
// `{identity, name}` or null), `hands` when the queue changes, `chat` for each new message
// (detail: the message), `chatreset` when the whole chat history was replaced.

export class Briefing extends EventTarget {
  /** `{identity, name}` of who has the floor, or null. */
  floor = null;
  /** Raised hands `{identity, name, at_unix_ms}`, oldest first. */
  hands = [];
  /** Chat messages `{id, identity, name, role, text, at_unix_ms}`, oldest first. */
  chat = [];

  constructor(welcome) {
    super();
    this.self = welcome.identity;
    this.floor = welcome.briefing?.floor ?? null;
    this.hands = [...(welcome.briefing?.hands ?? [])];
    this.chat = [...(welcome.briefing?.chat ?? [])];
  }

  /**
   * Takes the state of a new `welcome`, after the socket was resumed, and reports what
   * changed while it was lost. `floor` fires even for the same holder, because the room
   * was reset too and views admit the speaker again.
   */
  reset(welcome) {
    const state = welcome.briefing ?? { floor: null, hands: [], chat: [] };
    this.#setFloor(state.floor ?? null);
    this.hands = [...state.hands];
    this.#emit('hands');
    this.#resetChat(state.chat);
  }

  /** Checks whether the client itself has the floor. */
  get hasFloor() {
    return this.floor?.identity === this.self;
  }

  /** Checks whether the client's own hand is up. */
  get handRaised() {
    return this.hands.some((hand) => hand.identity === this.self);
  }

  /** Applies a briefing message and returns false for messages of other kinds. */
  handle(message) {
    switch (message.type) {
      case 'hand_raised':
        this.hands = [...this.hands.filter((h) => h.identity !== message.identity), message];
        this.#emit('hands');
        return true;
      case 'hand_lowered':
        this.hands = this.hands.filter((hand) => hand.identity !== message.identity);
        this.#emit('hands');
        return true;
      case 'floor_given':
        this.#setFloor({ identity: message.identity, name: message.name });
        return true;
      case 'floor_taken':
        if (this.floor?.identity === message.identity) {
          this.#setFloor(null);
        }
        return true;
      case 'chat_message':
        this.chat.push(message);
        this.#emit('chat', message);
        return true;
      default:
        return false;
    }
  }

  // The welcome carries the latest messages. When they continue the known history, only
  // the new ones are added. Otherwise the history is replaced: the briefing was closed and
  // opened again meanwhile, so its numbering restarted.
  // NOTE: the welcome carries only the latest 200 messages, so a client that missed more
  // than that adds the latest ones without marking the messages lost before them.
  #resetChat(latest) {
    const lastId = this.chat.at(-1)?.id ?? 0;
    const known = new Map(this.chat.map((message) => [message.id, message]));
    // An empty history on the server while this client knows messages means a new briefing.
    const continues =
      (latest.length > 0 || lastId === 0) &&
      latest
        .filter((message) => message.id <= lastId)
        .every((message) => sameMessage(known.get(message.id), message));
    if (!continues) {
      this.chat = [...latest];
      this.#emit('chatreset');
      return;
    }
    for (const message of latest.filter((entry) => entry.id > lastId)) {
      this.chat.push(message);
      this.#emit('chat', message);
    }
  }

  #setFloor(holder) {
    const previous = this.floor;
    this.floor = holder;
    this.#emit('floor', { holder, previous });
  }

  #emit(type, detail = null) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

function sameMessage(a, b) {
  return a?.identity === b.identity && a.at_unix_ms === b.at_unix_ms && a.text === b.text;
}
