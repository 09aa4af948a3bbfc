// The console's audit log section: entries newest first, filtered by record and by actor,
// in pages, and the same filters as a CSV download.

import { get } from './contest-api.js';
import { element } from './dom.js';
import { onSubmit } from './form-errors.js';
import { formatTime } from './time-format.js';

const PAGE_SIZE = 50;
const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

/** Wires the audit section; returns the function that loads its first page. */
export function initAudit(state) {
  const form = document.getElementById('audit-form');
  const more = byTestId('audit-more');
  let next = null;

  function filters() {
    const params = new URLSearchParams();
    for (const name of ['target_id', 'actor_id']) {
      const value = form.elements[name].value.trim();
      if (value !== '') {
        params.set(name, value);
      }
    }
    return params;
  }

  function renderEntry(entry) {
    const actor = entry.actor_id === null ? '—' : state.personName(entry.actor_id);
    return element('tr', { testid: 'audit-row' }, [
      element('td', { text: formatTime(entry.at) }),
      element('td', { text: entry.action }),
      element('td', { text: `${entry.target_kind} ${entry.target_id ?? ''}` }),
      element('td', { text: actor }),
      element('td', { text: entry.detail }),
    ]);
  }

  async function load(offset) {
    const params = filters();
    params.set('offset', String(offset));
    params.set('limit', String(PAGE_SIZE));
    const page = await get(`/audit-log?${params}`);
    const rows = page.items.map(renderEntry);
    if (offset === 0) {
      byTestId('audit-rows').replaceChildren(...rows);
    } else {
      byTestId('audit-rows').append(...rows);
    }
    next = page.next_offset;
    more.hidden = next === null;
  }

  function updateCsvLink() {
    const params = filters().toString();
    byTestId('audit-csv').href = `/api/v1/audit-log/csv${params ? `?${params}` : ''}`;
  }

  onSubmit(form, async () => {
    updateCsvLink();
    await load(0);
    return false;
  });
  form.addEventListener('input', updateCsvLink);
  more.addEventListener('click', () => load(next));
  return () => load(0);
}
