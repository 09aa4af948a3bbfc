// The console's people section: people with their roles, whom the organiser adds, corrects
// and deletes, the regional stage of each commission member, and each person's invite
// links, which the organiser creates, copies and revokes.

import { get, listAll, post, put, remove } from './contest-api.js';
import { button, copyLink, element, fillSelect } from './dom.js';
import { clearFormErrors, onSubmit, showFormErrors } from './form-errors.js';
import { setText, t } from './i18n.js';
import { formatTime } from './time-format.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

/** Returns the link to send: the invite page with the token after `#`. */
export function inviteLink(token) {
  return new URL(`invite.html#${token}`, window.location.href).href;
}

function inviteState(invite) {
  if (invite.revoked_at !== null) {
    return 'invites.revoked';
  }
  if (invite.used_at !== null) {
    return 'invites.used';
  }
  return invite.expires_at < Date.now() ? 'invites.expired' : 'invites.open';
}

/** Wires the people section to `state`; returns the function that loads it. */
export function initPeople(state, report) {
  const personForm = document.getElementById('person-form');
  const invites = document.getElementById('invites');
  const inviteForm = document.getElementById('invite-form');
  const saveButton = byTestId('save-person');
  let selected = null; // the person whose invites are shown
  let editing = null; // the person whose record the form holds, or null to add one
  let stages = []; // the stages of the chosen contest, which commission members oversee

  const stageLabel = (stage) => `${stage.region}, ${formatTime(stage.starts_at)}`;

  /** Returns the label of a person's stage: known stages by region, others by id. */
  function personStage(person) {
    if (!person.stage_id) {
      return t('people.no_stage');
    }
    const stage = stages.find((item) => item.id === person.stage_id);
    return stage ? stageLabel(stage) : person.stage_id;
  }

  async function reloadStages() {
    try {
      stages = state.contest === '' ? [] : await listAll(`/contests/${state.contest}/stages`);
    } catch (error) {
      report(error);
    }
    fillSelect(personForm.elements.stage_id, stages, (stage) => stage.id, stageLabel, 'people.no_stage');
    renderPeople();
  }

  async function reloadPeople() {
    try {
      state.setPeople(await listAll('/people'));
    } catch (error) {
      report(error);
    }
  }

  function renderPeople() {
    const rows = state.people
      .filter((person) => person.role !== 'organiser')
      .map((person) =>
        element('tr', { testid: 'person-row', attrs: { 'data-id': person.id } }, [
          element('td', { text: person.full_name }),
          element('td', { key: `role.${person.role}` }),
          element('td', { text: personStage(person), testid: 'person-stage-cell' }),
          element('td', {}, [
            button('people.invites', 'show-invites', () => showInvites(person)),
            ' ',
            button('people.edit', 'edit-person', () => edit(person)),
            ' ',
            button('people.delete', 'delete-person', () => drop(person), 'button danger'),
          ]),
        ]),
      );
    byTestId('people-rows').replaceChildren(...rows);
  }

  function edit(person) {
    clearFormErrors(personForm);
    const elements = personForm.elements;
    elements.role.value = person.role;
    elements.full_name.value = person.full_name;
    elements.email.value = person.email ?? '';
    elements.phone.value = person.phone ?? '';
    elements.region.value = person.region ?? '';
    const stageSelect = elements.stage_id;
    if (person.stage_id && ![...stageSelect.options].some((o) => o.value === person.stage_id)) {
      stageSelect.append(element('option', { text: person.stage_id, attrs: { value: person.stage_id } }));
    }
    stageSelect.value = person.stage_id ?? '';
    editing = person.id;
    saveButton.hidden = false;
  }

  function stopEditing() {
    editing = null;
    saveButton.hidden = true;
    personForm.reset();
  }

  async function drop(person) {
    if (!window.confirm(t('people.confirm_delete', { name: person.full_name }))) {
      return;
    }
    try {
      await remove(`/people/${person.id}`);
      if (selected?.id === person.id) {
        invites.hidden = true;
      }
      if (editing === person.id) {
        stopEditing();
      }
    } catch (error) {
      report(error);
    }
    await reloadPeople();
  }

  async function save() {
    clearFormErrors(personForm);
    saveButton.disabled = true;
    try {
      await put(`/people/${editing}`, personFields());
      stopEditing();
      await reloadPeople();
    } catch (error) {
      showFormErrors(personForm, error);
    } finally {
      saveButton.disabled = false;
    }
  }

  function personFields() {
    const elements = personForm.elements;
    const optional = (value) => (value.trim() === '' ? null : value);
    return {
      role: elements.role.value,
      full_name: elements.full_name.value,
      email: optional(elements.email.value),
      phone: optional(elements.phone.value),
      region: optional(elements.region.value),
      stage_id: optional(elements.stage_id.value),
    };
  }

  async function showInvites(person) {
    selected = person;
    invites.hidden = false;
    byTestId('new-invite').hidden = true;
    setText(byTestId('invites-heading'), 'invites.heading', { name: person.full_name });
    await reloadInvites();
  }

  async function reloadInvites() {
    let list = [];
    try {
      list = await get(`/people/${selected.id}/invites`);
    } catch (error) {
      report(error);
    }
    const items = list.map((invite) => {
      const status = inviteState(invite);
      const item = element('li', { className: 'item', testid: 'invite', attrs: { 'data-id': invite.id } }, [
        element('span', { key: status }),
        ' ',
        element('span', {
          className: 'muted',
          key: 'invites.expires',
          vars: { time: formatTime(invite.expires_at) },
        }),
      ]);
      if (status === 'invites.open') {
        item.append(' ', button('invites.revoke', 'revoke-invite', () => revoke(invite), 'button danger'));
      }
      return item;
    });
    byTestId('invite-list').replaceChildren(...items);
  }

  async function revoke(invite) {
    try {
      await post(`/invites/${invite.id}/revoke`);
    } catch (error) {
      report(error);
    }
    await reloadInvites();
  }

  onSubmit(personForm, async () => {
    await post('/people', personFields());
    stopEditing();
    await reloadPeople();
    return true;
  });
  saveButton.addEventListener('click', save);

  onSubmit(inviteForm, async () => {
    const hours = Number.parseInt(inviteForm.elements.valid_hours.value, 10);
    const body = Number.isNaN(hours) ? {} : { valid_hours: hours };
    const created = await post(`/people/${selected.id}/invites`, body);
    byTestId('invite-link').value = inviteLink(created.token);
    byTestId('copy-status').textContent = '';
    byTestId('new-invite').hidden = false;
    await reloadInvites();
    return false;
  });

  byTestId('copy-invite').addEventListener('click', () =>
    copyLink(byTestId('invite-link'), byTestId('copy-status')),
  );
  state.addEventListener('people', renderPeople);
  // A new stage is chosen as soon as it is created, so that event also refreshes the list.
  state.addEventListener('contest', reloadStages);
  state.addEventListener('stage', reloadStages);
  return reloadPeople;
}

/**
 * Wires the assignments section: who is in the room chosen in the structure section.
 * Returns the function that loads it.
 */
export function initAssignments(state, report) {
  const form = document.getElementById('assign-form');
  const personSelect = byTestId('assign-person');

  function fillPeople() {
    const options = state.people.map((person) =>
      element('option', {
        text: `${person.full_name} (${t(`role.${person.role}`)})`,
        attrs: { value: person.id },
      }),
    );
    personSelect.replaceChildren(...options);
  }

  async function reload() {
    const room = state.room;
    form.querySelector('[type="submit"]').disabled = room === '';
    setText(byTestId('assignments-room'), room === '' ? 'assignments.no_room' : 'assignments.room', {
      room: document.getElementById('room-select').selectedOptions[0]?.textContent ?? '',
    });
    if (room === '') {
      byTestId('assignment-list').replaceChildren();
      return;
    }
    let list = [];
    try {
      list = await listAll(`/rooms/${room}/assignments`);
    } catch (error) {
      report(error);
    }
    const items = list.map((assignment) =>
      element('li', { className: 'item', testid: 'assignment' }, [
        element('span', { text: state.personName(assignment.person_id) }),
        ' ',
        button('assignments.remove', 'unassign', () => unassign(assignment.person_id), 'button danger'),
      ]),
    );
    byTestId('assignment-list').replaceChildren(...items);
  }

  async function unassign(person) {
    try {
      await remove(`/rooms/${state.room}/assignments/${person}`);
    } catch (error) {
      report(error);
    }
    await reload();
  }

  onSubmit(form, async () => {
    await put(`/rooms/${state.room}/assignments/${personSelect.value}`);
    await reload();
    return false;
  });
  state.addEventListener('people', () => {
    fillPeople();
    reload();
  });
  state.addEventListener('room', reload);
  return reload;
}
