// The state of a briefing: who has the floor, the raised hands and the chat, kept current
// from `welcome.briefing` and the messages `hand_raised`, `hand_lowered`, `floor_given`,
// `floor_taken` and `chat_message`.
//
// Events: `floor` when the floor changes (detail: `{holder, previous}`, each
// `{identity, name}` or null), `hands` when the queue changes, `chat` for each new message
// (detail: the message).

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

  #setFloor(holder) {
    const previous = this.floor;
    this.floor = holder;
    this.#emit('floor', { holder, previous });
  }

  #emit(type, detail = null) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
