// The console's briefings section: the briefings of the stage chosen in the structure
// section, a form that schedules one or changes it, and buttons to open and cancel each.

import { listAll, patch, post } from './contest-api.js';
import { button, element } from './dom.js';
import { onSubmit } from './form-errors.js';
import { setText } from './i18n.js';
import { formatTime, fromLocalInput, toLocalInput } from './time-format.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

/** Wires the briefings section to `state`; returns the function that loads it. */
export function initBriefings(state, report) {
  const form = document.getElementById('briefing-form');
  const submit = byTestId('schedule-briefing');
  const stopEditing = byTestId('cancel-edit');
  let editing = null; // the briefing the form changes, or null to schedule a new one

  function edit(briefing) {
    editing = briefing;
    form.elements.title.value = briefing?.title ?? '';
    form.elements.starts_at.value = briefing ? toLocalInput(briefing.starts_at) : '';
    form.elements.agenda.value = briefing?.agenda ?? '';
    setText(submit, briefing ? 'briefings.save' : 'briefings.schedule');
    stopEditing.hidden = briefing === null;
  }

  function renderBriefing(briefing) {
    const cancelled = briefing.cancelled_at !== null;
    const item = element('li', {
      className: cancelled ? 'item cancelled' : 'item',
      testid: 'briefing',
      attrs: { 'data-id': briefing.id, 'data-room': briefing.room_id },
    }, [
      element('strong', { text: briefing.title }),
      ' ',
      element('span', { className: 'muted', text: formatTime(briefing.starts_at) }),
      element('p', { className: 'agenda', text: briefing.agenda }),
    ]);
    if (cancelled) {
      item.append(element('span', { key: 'briefings.cancelled', testid: 'briefing-cancelled' }));
      return item;
    }
    const open = element('a', {
      className: 'button primary',
      key: 'briefings.open',
      testid: 'open-briefing',
      attrs: { href: `briefing.html#room=${encodeURIComponent(briefing.room_id)}`, target: '_blank' },
    });
    item.append(
      open,
      ' ',
      button('briefings.edit', 'edit-briefing', () => edit(briefing)),
      ' ',
      button('briefings.cancel', 'cancel-briefing', () => cancel(briefing), 'button danger'),
    );
    return item;
  }

  async function reload() {
    const stage = state.stage;
    submit.disabled = stage === '';
    const name = document.getElementById('stage-select').selectedOptions[0]?.textContent;
    setText(byTestId('briefings-stage'), stage === '' ? 'briefings.no_stage' : 'briefings.of', {
      stage: name ?? '',
    });
    if (stage === '') {
      byTestId('briefing-list').replaceChildren();
      return;
    }
    let list = [];
    try {
      list = await listAll(`/stages/${stage}/briefings`);
    } catch (error) {
      report(error);
    }
    byTestId('briefing-list').replaceChildren(...list.map(renderBriefing));
  }

  async function cancel(briefing) {
    try {
      await post(`/briefings/${briefing.id}/cancel`);
    } catch (error) {
      report(error);
    }
    if (editing?.id === briefing.id) {
      edit(null);
    }
    await reload();
  }

  onSubmit(form, async () => {
    const body = {
      title: form.elements.title.value,
      starts_at: fromLocalInput(form.elements.starts_at.value),
      agenda: form.elements.agenda.value,
    };
    if (editing === null) {
      await post(`/stages/${state.stage}/briefings`, body);
    } else {
      await patch(`/briefings/${editing.id}`, body);
      edit(null);
    }
    await reload();
    return true;
  });
  stopEditing.addEventListener('click', () => edit(null));
  state.addEventListener('stage', () => {
    edit(null);
    reload();
  });
  return reload;
}
