// The chair's part of the scoring page: every sheet of the group with its state, reopening
// a locked sheet with a reason, the summary sheet and generating the group's protocol.
// Once the protocol is handed over to the regional commission, the server rejects both
// reopening and generating, so the view offers neither and shows why.

import { get, post } from './contest-api.js';
import { button, element } from './dom.js';
import { errorText } from './form-errors.js';

/** Formats hundredths of a point as points with two decimals, or a dash when missing. */
export function points(hundredths) {
  return hundredths === null || hundredths === undefined ? '—' : (hundredths / 100).toFixed(2);
}

function reopenForm(sheet, onChange) {
  const reason = element('input', {
    testid: 'reopen-reason',
    attrs: { name: 'reason', maxlength: '1000', required: '' },
  });
  const line = element('span', { className: 'form-error' });
  line.hidden = true;
  const reopen = button('scoring.reopen', 'reopen-sheet', async () => {
    try {
      await post(`/sheets/${sheet.id}/reopen`, { reason: reason.value });
      onChange();
    } catch (error) {
      line.textContent = errorText(error);
      line.hidden = false;
    }
  });
  const label = element('label', { className: 'field' }, [
    element('span', { key: 'scoring.reopen_reason' }),
    reason,
  ]);
  return element('span', { className: 'inline-form' }, [label, reopen, line]);
}

function sheetRow(sheet, partTitles, handedOver, onChange) {
  const row = element('tr', { testid: 'group-sheet' });
  row.dataset.id = sheet.id;
  row.dataset.locked = String(sheet.locked_at !== null);
  const state = sheet.locked_at !== null ? 'scoring.state_locked' : 'scoring.state_open';
  const action = element('td');
  if (sheet.locked_at !== null && !handedOver) {
    action.append(reopenForm(sheet, onChange));
  }
  row.append(
    element('td', { text: sheet.participant_name }),
    element('td', { text: partTitles.get(sheet.stage_part_id) ?? '' }),
    element('td', { text: sheet.expert_name }),
    element('td', { key: state }),
    action,
  );
  return row;
}

function summaryTable(summary) {
  const head = element('tr', {}, [
    element('th', { key: 'scoring.rank' }),
    element('th', { key: 'scoring.participant' }),
    ...summary.parts.map((part) => element('th', { text: part.title })),
    element('th', { key: 'scoring.total' }),
  ]);
  const rows = summary.rows.map((row) => {
    const rank = row.rank === null ? '—' : String(row.rank);
    const tr = element('tr', { testid: 'summary-row' }, [
      element('td', { text: row.tied ? `${rank} =` : rank }),
      element('td', { text: row.full_name }),
      ...row.parts.map((part) => element('td', { className: 'numeric', text: points(part.total) })),
      element('td', { className: 'numeric', testid: 'summary-total', text: points(row.total) }),
    ]);
    tr.dataset.participant = row.participant_id;
    tr.dataset.tied = String(row.tied);
    return tr;
  });
  return element('table', { className: 'recordings' }, [
    element('thead', {}, [head]),
    element('tbody', {}, rows),
  ]);
}

/** Loads and renders the chair's view of `group` into `container`. */
export async function showChairGroup(container, group, onChange) {
  const [{ items: sheets }, summary, { items: protocols }] = await Promise.all([
    get(`/expert-groups/${group.id}/sheets`),
    get(`/expert-groups/${group.id}/summary`),
    get(`/expert-groups/${group.id}/protocols`),
  ]);
  const handedOver = protocols.some((protocol) =>
    protocol.kind === 'expert_group' && protocol.handed_over_at !== null);
  const partTitles = new Map(group.parts.map((part) => [part.id, part.title]));
  const sheetTable = element('table', { className: 'recordings' }, [
    element('thead', {}, [element('tr', {}, [
      element('th', { key: 'scoring.participant' }),
      element('th', { key: 'scoring.part' }),
      element('th', { key: 'scoring.expert' }),
      element('th', { key: 'scoring.state' }),
      element('th', {}),
    ])]),
    element('tbody', {}, sheets.map((sheet) => sheetRow(sheet, partTitles, handedOver, onChange))),
  ]);
  const progress = element('p', {
    testid: 'summary-progress',
    key: 'scoring.progress',
    vars: { locked: summary.locked_sheets, expected: summary.expected_sheets },
  });
  const line = element('p', { className: 'form-error', testid: 'generate-error' });
  line.hidden = true;
  const generate = button('scoring.generate', 'generate-protocol', async () => {
    line.hidden = true;
    try {
      await post(`/expert-groups/${group.id}/protocols`);
      onChange();
    } catch (error) {
      line.textContent = errorText(error);
      line.hidden = false;
    }
  }, 'button primary');
  generate.disabled = !summary.complete || handedOver;
  const handedOverNote = element('p', {
    className: 'muted',
    testid: 'handed-over-note',
    key: 'scoring.handed_over_note',
  });
  handedOverNote.hidden = !handedOver;
  const pdf = element('a', {
    className: 'button',
    key: 'scoring.summary_pdf',
    testid: 'summary-pdf',
    attrs: { href: `/api/v1/expert-groups/${group.id}/summary/pdf` },
  });
  const section = element('div', { testid: 'chair-group' }, [
    element('h3', { text: `${group.name} — ${group.profession}` }),
    element('div', { className: 'table-scroll' }, [sheetTable]),
    progress,
    element('div', { className: 'table-scroll' }, [summaryTable(summary)]),
    element('div', { className: 'toolbar' }, [generate, pdf]),
    handedOverNote,
    line,
  ]);
  section.dataset.complete = String(summary.complete);
  container.append(section);
}
