// The protocols that the signed-in person approves, on the scoring page: those waiting for
// their approval first, each of which opens below the list with the one-time code form.
// Commission members see only this, and experts see it above their workspace.

import { get } from './contest-api.js';
import { button, element } from './dom.js';
import { errorText } from './form-errors.js';
import { renderProtocol } from './scoring-protocols.js';
import { formatTime } from './time-format.js';

function stateText(protocol) {
  if (protocol.waiting) {
    return { key: 'scoring.waiting_for_you' };
  }
  if (protocol.my_approval_at !== null) {
    return { key: 'scoring.you_approved', vars: { time: formatTime(protocol.my_approval_at) } };
  }
  return { key: 'scoring.not_waiting' };
}

export class MyProtocols {
  /** Shows the list in `list` and an opened protocol in `view`. `me` is the person's id. */
  constructor(list, view, me) {
    this.list = list;
    this.view = view;
    this.me = me;
    this.opened = null; // the id of the protocol shown in `view`
  }

  /** Loads the list and, when one is open, that protocol again. */
  async load() {
    const { items } = await get('/me/protocols');
    const rows = items.map((protocol) => this.row(protocol));
    if (rows.length === 0) {
      rows.push(element('li', { className: 'muted', key: 'scoring.no_my_protocols' }));
    }
    this.list.replaceChildren(...rows);
    this.list.dataset.waiting = String(items.filter((protocol) => protocol.waiting).length);
    if (this.opened !== null) {
      await this.open(this.opened);
    }
  }

  row(protocol) {
    const kind = protocol.kind === 'commission' ? 'scoring.commission_protocol' : 'scoring.group_protocol';
    const state = stateText(protocol);
    const open = button('scoring.open_protocol', 'open-protocol', () => this.open(protocol.id));
    open.setAttribute('aria-label', `${open.textContent}: ${protocol.group_name}`);
    const item = element('li', { className: 'item', testid: 'my-protocol' }, [
      element('strong', { key: kind }),
      ' ',
      element('span', { text: `${protocol.group_name} — ${protocol.profession}, ${protocol.region}` }),
      ' ',
      element('span', { className: protocol.waiting ? 'attention' : 'muted', key: state.key, vars: state.vars }),
      ' ',
      open,
    ]);
    item.dataset.id = protocol.id;
    item.dataset.waiting = String(protocol.waiting);
    return item;
  }

  /**
   * Shows one protocol with its approvals and, when it waits for the person, the code form. A
   * protocol that the expert's workspace already shows is scrolled to instead, so that the page
   * never has two code forms for one protocol.
   */
  async open(id) {
    this.opened = id;
    const workspaceCard = [...document.querySelectorAll('[data-testid="protocol"]')]
      .find((card) => card.dataset.id === id && !this.view.contains(card));
    if (workspaceCard) {
      this.view.replaceChildren();
      this.view.hidden = true;
      workspaceCard.scrollIntoView({ block: 'center' });
      const first = workspaceCard.querySelector('button, input, a');
      first?.focus();
      return;
    }
    try {
      const protocol = await get(`/protocols/${encodeURIComponent(id)}`);
      const card = renderProtocol(protocol, this.me, false, () => this.load());
      this.view.replaceChildren(card);
      this.view.hidden = false;
    } catch (error) {
      this.view.replaceChildren(element('p', { className: 'form-error', text: errorText(error) }));
      this.view.hidden = false;
    }
  }
}
