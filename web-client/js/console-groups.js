// The console's expert groups section: the groups of the nomination chosen in the structure
// section, and a form to add one with its chair and members, all experts.

import { listAll, post } from './contest-api.js';
import { element, fillSelect } from './dom.js';
import { onSubmit } from './form-errors.js';
import { setText } from './i18n.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

/** Wires the expert groups section to `state`; returns the function that loads it. */
export function initGroups(state, report) {
  const form = document.getElementById('group-form');
  const chair = form.elements.chair_id;
  const members = form.elements.member_ids;

  function fillExperts() {
    const experts = state.people.filter((person) => person.role === 'expert');
    fillSelect(chair, experts, (person) => person.id, (person) => person.full_name);
    fillSelect(members, experts, (person) => person.id, (person) => person.full_name);
  }

  async function reload() {
    const nomination = state.nomination;
    form.querySelector('[type="submit"]').disabled = nomination === '';
    const name = document.getElementById('nomination-select').selectedOptions[0]?.textContent;
    setText(byTestId('groups-nomination'), nomination === '' ? 'groups.no_nomination' : 'groups.of', {
      nomination: name ?? '',
    });
    if (nomination === '') {
      byTestId('group-list').replaceChildren();
      return;
    }
    let groups = [];
    try {
      groups = await listAll(`/nominations/${nomination}/expert-groups`);
    } catch (error) {
      report(error);
    }
    const items = groups.map((group) =>
      element('li', { className: 'item', testid: 'group' }, [
        element('strong', { text: group.name }),
        ' ',
        element('span', {
          className: 'muted',
          key: 'groups.summary',
          vars: {
            chair: state.personName(group.chair_id),
            members: group.member_ids.map((id) => state.personName(id)).join(', '),
          },
        }),
      ]),
    );
    byTestId('group-list').replaceChildren(...items);
  }

  onSubmit(form, async () => {
    const chosen = [...members.selectedOptions].map((option) => option.value);
    await post(`/nominations/${state.nomination}/expert-groups`, {
      name: form.elements.name.value,
      chair_id: chair.value || null,
      member_ids: chosen,
    });
    await reload();
    return true;
  });
  state.addEventListener('people', () => {
    fillExperts();
    reload();
  });
  state.addEventListener('nomination', reload);
  return reload;
}
