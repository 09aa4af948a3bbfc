// "Use a phone as the second camera" on the participant page. It requests a one-time link
// from the server, shows it as a QR code and as text, and requests a new one when it
// expires or a phone has used it. It shows what the phone does from `phone_camera` messages.

import { setText } from './i18n.js';
import { requestPhoneLink } from './phone-link-api.js';

/** Time before expiry at which the link is renewed, so that a scan never meets a dead link. */
const RENEW_EARLY_MS = 5_000;

export class PhoneLink {
  #ui;
  #token;
  #session = null;
  #timer = 0;
  #reportError;

  /**
   * @param {object} ui `open` button, `panel`, `qr` image, `link` anchor and `state` line
   * @param {string} token the participant's access token
   * @param {(error: Error) => void} reportError shows a failed request to the user
   */
  constructor(ui, token, reportError) {
    this.#ui = ui;
    this.#token = token;
    this.#reportError = reportError;
    ui.open.addEventListener('click', () => this.#renew());
  }

  /** Follows the phone camera of the participant of `session`; null hides the panel. */
  bind(session) {
    this.#session = session;
    this.#ui.open.hidden = session === null;
    this.#ui.panel.hidden = true;
    this.#showState(null);
    clearTimeout(this.#timer);
    session?.addEventListener('phonecamera', (event) => {
      if (this.#session === session && event.detail.identity === session.room.self) {
        this.#onPhoneCamera(event.detail.state);
      }
    });
  }

  #onPhoneCamera(state) {
    this.#showState(state);
    // The link just worked, so it cannot work again: the next scan needs a new one.
    if (state === 'connected' && !this.#ui.panel.hidden) {
      this.#renew();
    }
  }

  async #renew() {
    clearTimeout(this.#timer);
    const session = this.#session;
    if (!session) {
      return;
    }
    let issued;
    try {
      issued = await requestPhoneLink(session.room.id, this.#token);
    } catch (error) {
      this.#reportError(error);
      return;
    }
    if (session !== this.#session) {
      return;
    }
    const svg = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(issued.qr_svg)}`;
    this.#ui.qr.src = svg;
    this.#ui.link.href = issued.link;
    this.#ui.link.textContent = issued.link;
    this.#ui.panel.hidden = false;
    this.#ui.open.hidden = true;
    const delay = Math.max(issued.expires_in_ms - RENEW_EARLY_MS, 1_000);
    this.#timer = setTimeout(() => this.#renew(), delay);
  }

  #showState(state) {
    const line = this.#ui.state;
    line.hidden = state === null;
    line.dataset.state = state ?? '';
    if (state) {
      setText(line, `phone_camera.${state}`);
    }
  }
}
