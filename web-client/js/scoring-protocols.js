// Protocols on the scoring page: each one's content hash and approvals, the one-time code
// request and approval for the signed-in approver, and the chair's hand-over.

import { get, post } from './contest-api.js';
import { button, element } from './dom.js';
import { clearFormErrors, errorText, showFormErrors } from './form-errors.js';
import { setText } from './i18n.js';
import { formatTime } from './time-format.js';

function approvalItem(approval) {
  const item = element('li', { testid: 'approval' });
  item.dataset.person = approval.person_id;
  item.dataset.approved = String(approval.approved_at !== null);
  item.append(element('strong', { text: approval.full_name }), ' ');
  if (approval.approved_at !== null) {
    item.append(element('span', {
      key: 'scoring.approved_at',
      vars: { time: formatTime(approval.approved_at) },
    }));
  } else {
    item.append(element('span', { className: 'muted', key: 'scoring.not_approved' }));
  }
  return item;
}

/** Builds the code request and approval form for the signed-in approver. */
function approvalForm(protocol, onDone) {
  const line = element('p', { className: 'form-error', testid: 'approval-error' });
  line.hidden = true;
  const sent = element('p', { className: 'muted', testid: 'code-sent' });
  sent.hidden = true;
  const code = element('input', {
    testid: 'approval-code',
    attrs: { name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6' },
  });
  let form = null;
  // A wrong code is a field error: it goes under the code input, the rest in the line.
  const fail = (error) => showFormErrors(form, error);
  const requestCode = button('scoring.request_code', 'request-code', async () => {
    clearFormErrors(form);
    try {
      const reply = await post(`/protocols/${protocol.id}/approval-code`);
      setText(sent, 'scoring.code_sent', { time: formatTime(reply.expires_at) });
      sent.hidden = false;
    } catch (error) {
      fail(error);
    }
  });
  const approve = button('scoring.approve', 'approve', async () => {
    clearFormErrors(form);
    try {
      await post(`/protocols/${protocol.id}/approve`, { code: code.value.trim() });
      onDone();
    } catch (error) {
      fail(error);
    }
  }, 'button primary');
  const label = element('label', { className: 'field' }, [
    element('span', { key: 'scoring.code' }),
    code,
  ]);
  form = element('div', { className: 'inline-form' }, [requestCode, sent, label, approve, line]);
  return form;
}

/** Renders one protocol for a person who may read it. */
export function renderProtocol(protocol, me, isChair, onChange) {
  const card = element('article', { className: 'protocol', testid: 'protocol' });
  card.dataset.id = protocol.id;
  card.dataset.kind = protocol.kind;
  card.dataset.approved = String(protocol.approved);
  card.dataset.current = String(protocol.current);
  const kind = protocol.kind === 'commission' ? 'scoring.commission_protocol' : 'scoring.group_protocol';
  card.append(
    element('h3', { key: kind }),
    element('p', { className: 'muted', key: 'scoring.generated_at', vars: { time: formatTime(protocol.generated_at) } }),
    element('p', { className: 'hash', testid: 'protocol-hash', key: 'scoring.hash', vars: { hash: protocol.content_hash } }),
  );
  if (!protocol.current) {
    card.append(element('p', { className: 'attention', key: 'scoring.out_of_date' }));
  }
  card.append(element('ul', { className: 'item-list' }, protocol.approvals.map(approvalItem)));
  const mine = protocol.approvals.find((approval) => approval.person_id === me);
  if (mine && mine.approved_at === null && protocol.current) {
    card.append(approvalForm(protocol, onChange));
  }
  const actions = element('div', { className: 'toolbar' });
  actions.append(element('a', {
    className: 'button',
    key: 'scoring.pdf',
    testid: 'protocol-pdf',
    attrs: { href: `/api/v1/protocols/${protocol.id}/pdf` },
  }));
  const handable = protocol.kind === 'expert_group' && protocol.handed_over_at === null;
  if (isChair && handable && protocol.approved) {
    const line = element('p', { className: 'form-error' });
    line.hidden = true;
    actions.append(button('scoring.hand_over', 'hand-over', async () => {
      try {
        await post(`/protocols/${protocol.id}/hand-over`);
        onChange();
      } catch (error) {
        line.textContent = errorText(error);
        line.hidden = false;
      }
    }), line);
  }
  if (protocol.handed_over_at !== null) {
    card.append(element('p', { key: 'scoring.handed_over', vars: { time: formatTime(protocol.handed_over_at) } }));
  }
  card.append(actions);
  return card;
}

/** Loads and renders the protocols of `group` into `container`. */
export async function showGroupProtocols(container, group, me, onChange) {
  const { items } = await get(`/expert-groups/${group.id}/protocols`);
  const heading = element('h3', { text: `${group.name} — ${group.profession}` });
  const list = items.map((protocol) => renderProtocol(protocol, me, group.chair, onChange));
  if (list.length === 0) {
    list.push(element('p', { className: 'muted', key: 'scoring.no_protocols' }));
  }
  container.append(heading, ...list);
}

/** Shows one protocol by id, for commission members who follow a `#protocol=` link. */
export async function showOneProtocol(container, id, me, onChange) {
  try {
    const protocol = await get(`/protocols/${encodeURIComponent(id)}`);
    container.replaceChildren(renderProtocol(protocol, me, false, onChange));
  } catch (error) {
    container.replaceChildren(element('p', { className: 'form-error', text: errorText(error) }));
  }
}
