// The briefing's question chat: the list of messages and a form that sends `chat`.

import { setText } from './i18n.js';
import { formatClock } from './recording-format.js';

/** The server's limit on a chat message, in characters after trimming. */
export const MAX_CHAT_CHARS = 500;

export class ChatPanel {
  #list;
  #form;
  #input;
  #session = null;

  constructor(root) {
    this.#list = root.querySelector('[data-testid="chat-list"]');
    this.#form = root.querySelector('[data-testid="chat-form"]');
    this.#input = root.querySelector('[data-testid="chat-input"]');
    this.#input.maxLength = MAX_CHAT_CHARS;
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#send();
    });
  }

  /** Shows the chat of `session.briefing` and keeps it current. */
  bind(session) {
    this.#session = session;
    this.#render();
    session.briefing.addEventListener('chat', (event) => this.#append(event.detail));
    session.briefing.addEventListener('chatreset', () => this.#render());
  }

  #render() {
    this.#list.replaceChildren();
    for (const message of this.#session.briefing.chat) {
      this.#append(message);
    }
  }

  #send() {
    const text = this.#input.value.trim();
    if (!text || this.#session?.phase !== 'joined') {
      return;
    }
    this.#session.signalling.send({ type: 'chat', text });
    this.#input.value = '';
  }

  #append(message) {
    const item = document.createElement('li');
    item.className = 'chat-message';
    item.dataset.testid = 'chat-message';
    item.dataset.identity = message.identity;
    const meta = document.createElement('span');
    meta.className = 'chat-meta';
    const author = message.identity === this.#session?.briefing.self ? 'briefing.you' : null;
    if (author) {
      setText(meta, author, { time: formatClock(message.at_unix_ms) });
    } else {
      meta.textContent = `${message.name}, ${formatClock(message.at_unix_ms)}`;
    }
    const text = document.createElement('span');
    text.className = 'chat-text';
    text.textContent = message.text;
    item.append(meta, text);
    this.#list.append(item);
    item.scrollIntoView({ block: 'nearest' });
  }
}
