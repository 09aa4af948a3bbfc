// scoring.html: the expert's workspace. It lists the participants of the expert's groups,
// and choosing one shows the live room or its recordings beside the assessment sheet. The
// page also shows chairs every sheet of their group, the summary sheet and the protocol
// button, and shows every member the group's protocols with the one-time code approval.
// Above them, experts and commission members see the protocols waiting for their approval
// (`scoring-mine.js`), and commission members see only that. Experts also find the identity
// checks of their theory tests here. `scoring.html#protocol=ID` shows one protocol.

import { currentSession, get, post } from './contest-api.js';
import { element } from './dom.js';
import { showError, initErrorBanner } from './error-banner.js';
import { errorText } from './form-errors.js';
import { initLanguage, onLanguageChange, setText } from './i18n.js';
import { showChairGroup } from './scoring-chair.js';
import { MyProtocols } from './scoring-mine.js';
import { showGroupProtocols, showOneProtocol } from './scoring-protocols.js';
import { SheetForm } from './scoring-sheet.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

const page = {
  me: null,
  workspace: null,
  chosen: null, // {part, participant}
  sheet: null,
  mine: null, // the protocols waiting for the person, or null for other roles
};

function sheetState(participant) {
  if (participant.sheet === null) {
    return 'scoring.state_new';
  }
  return participant.sheet.locked_at === null ? 'scoring.state_open' : 'scoring.state_locked';
}

function participantButton(part, participant) {
  const state = element('span', { className: 'muted', testid: 'sheet-state', key: sheetState(participant) });
  const open = element('button', {
    className: 'link-button',
    testid: 'open-participant',
    text: participant.full_name,
    attrs: { type: 'button' },
    on: { click: () => choose(part, participant) },
  });
  open.dataset.participant = participant.person_id;
  open.dataset.part = part.id;
  const item = element('li', { className: 'item' }, [open, ' ', state]);
  item.dataset.locked = String(participant.sheet?.locked_at != null);
  return item;
}

/** Links the identity checks of a theory part's published tests, which experts review. */
function identityLinks(part) {
  return part.theory_tests.map((test) => element('p', {}, [
    element('a', {
      key: 'scoring.identity_link',
      vars: { title: test.title },
      testid: 'identity-link',
      attrs: { href: `identity.html?test=${encodeURIComponent(test.id)}` },
    }),
  ]));
}

function renderList() {
  const groups = page.workspace.groups.map((group) => {
    const parts = group.parts.map((part) =>
      element('div', {}, [
        element('h4', { text: part.title }),
        ...identityLinks(part),
        element('ul', { className: 'item-list' },
          part.participants.map((participant) => participantButton(part, participant))),
      ]),
    );
    return element('div', { testid: 'group' }, [
      element('h3', { text: `${group.name} — ${group.profession}` }),
      ...parts,
    ]);
  });
  byTestId('groups').replaceChildren(...groups);
}

/** Returns the part and participant of the reloaded workspace, or null when gone. */
function findChosen(partId, personId) {
  for (const group of page.workspace.groups) {
    const part = group.parts.find((candidate) => candidate.id === partId);
    const participant = part?.participants.find((p) => p.person_id === personId);
    if (participant) {
      return { part, participant };
    }
  }
  return null;
}

async function choose(part, participant) {
  page.chosen = { part, participant };
  document.getElementById('assessment').hidden = false;
  byTestId('participant-name').textContent = participant.full_name;
  showLive();
  try {
    await page.sheet.show(part, participant);
  } catch (error) {
    showError('scoring.load_failed', { reason: errorText(error) });
  }
}

function showFrame(src) {
  const frame = byTestId('viewer-frame');
  frame.src = src;
  frame.title = page.chosen.participant.full_name;
  frame.hidden = false;
}

function showLive() {
  const room = page.chosen.participant.room_id;
  showFrame(`expert.html#room=${encodeURIComponent(room)}`);
  byTestId('viewer-frame').dataset.view = 'live';
}

async function showRecordings() {
  const room = page.chosen.participant.room_id;
  try {
    const issued = await post(`/rooms/${encodeURIComponent(room)}/media-token`);
    showFrame(`review.html#token=${encodeURIComponent(issued.token)}`);
    byTestId('viewer-frame').dataset.view = 'recordings';
  } catch (error) {
    showError('scoring.load_failed', { reason: errorText(error) });
  }
}

async function renderGroups() {
  const chair = byTestId('chair-groups');
  const protocols = byTestId('protocol-list');
  chair.replaceChildren();
  protocols.replaceChildren();
  const chaired = page.workspace.groups.filter((group) => group.chair);
  document.getElementById('chair').hidden = chaired.length === 0;
  document.getElementById('protocols').hidden = page.workspace.groups.length === 0;
  for (const group of chaired) {
    await showChairGroup(chair, group, refresh);
  }
  for (const group of page.workspace.groups) {
    await showGroupProtocols(protocols, group, page.me.person.id, refresh);
  }
  await page.mine?.load();
}

/** Shows the section of protocols waiting for the person's approval, which `load()` fills. */
function showMine() {
  page.mine = new MyProtocols(byTestId('my-protocols'), byTestId('my-protocol-view'), page.me.person.id);
  document.getElementById('my-protocols').hidden = false;
}

/**
 * Keeps the list in step with a saved sheet. Saving happens as the expert types, so only
 * locking reloads the chair's tables and the protocols.
 */
function sheetChanged(sheet) {
  if (page.chosen === null) {
    return;
  }
  const { participant } = page.chosen;
  const wasLocked = participant.sheet?.locked_at != null;
  participant.sheet = { ...participant.sheet, id: sheet.id, locked_at: sheet.locked_at };
  renderList();
  if (wasLocked !== (sheet.locked_at !== null)) {
    renderGroups().catch((error) => showError('scoring.load_failed', { reason: errorText(error) }));
  }
}

/** Reloads the workspace, the chair's tables and the protocols after a change. */
async function refresh() {
  try {
    page.workspace = await get('/me/scoring');
    if (page.chosen !== null) {
      page.chosen = findChosen(page.chosen.part.id, page.chosen.participant.person_id);
    }
    renderList();
    await renderGroups();
  } catch (error) {
    showError('scoring.load_failed', { reason: errorText(error) });
  }
}

async function load() {
  try {
    page.me = await currentSession();
    if (page.me === null) {
      document.getElementById('signed-out').hidden = false;
      return;
    }
    const protocol = new URLSearchParams(window.location.hash.replace(/^#/, '')).get('protocol');
    if (protocol) {
      document.getElementById('protocols').hidden = false;
      const container = byTestId('protocol-list');
      const reload = () => showOneProtocol(container, protocol, page.me.person.id, reload);
      await reload();
      document.body.dataset.ready = 'true';
      return;
    }
    if (page.me.person.role === 'commission_member') {
      showMine();
      await page.mine.load();
      document.body.dataset.ready = 'true';
      return;
    }
    if (page.me.person.role === 'expert') {
      showMine();
    }
    page.workspace = await get('/me/scoring');
    document.getElementById('no-groups').hidden = page.workspace.groups.length > 0;
    document.getElementById('workspace').hidden = page.workspace.groups.length === 0;
    renderList();
    await renderGroups();
    document.body.dataset.ready = 'true';
  } catch (error) {
    showError('scoring.load_failed', { reason: errorText(error) });
  }
}

initLanguage();
initErrorBanner();
page.sheet = new SheetForm(byTestId('sheet-form'), sheetChanged);
byTestId('show-live').addEventListener('click', showLive);
byTestId('show-recordings').addEventListener('click', showRecordings);
onLanguageChange(() => {
  if (page.workspace !== null) {
    renderList();
  }
});
setText(byTestId('viewer-hint'), 'scoring.viewer_hint');
load();
