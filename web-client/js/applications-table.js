// Rendering of the applications page: the table rows and one application's details.

import { attachmentUrl } from './applications-api.js';
import { currentLanguage, setText, t } from './i18n.js';

function formatTime(ms) {
  return new Date(ms).toLocaleString(currentLanguage(), {
    dateStyle: 'short',
    timeStyle: 'short',
  });
}

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

function statusCell(status) {
  const td = document.createElement('td');
  const label = document.createElement('span');
  label.className = 'application-status';
  label.dataset.status = status;
  setText(label, `application.status.${status}`);
  td.append(label);
  return td;
}

/**
 * Renders one row per application. `professions` maps nomination ids to names,
 * `selected` holds the checked ids, and `onOpen` is called with an id to show details.
 */
export function renderRows(tbody, items, { professions, selected, onOpen }) {
  tbody.replaceChildren();
  for (const item of items) {
    const row = document.createElement('tr');
    row.dataset.id = item.id;
    row.dataset.testid = 'application-row';

    const pick = document.createElement('td');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = selected.has(item.id);
    box.dataset.testid = 'select';
    box.setAttribute('aria-label', t('applications.select_one', { name: item.full_name }));
    box.addEventListener('change', () => {
      if (box.checked) {
        selected.add(item.id);
      } else {
        selected.delete(item.id);
      }
      tbody.dispatchEvent(new Event('selection'));
    });
    pick.append(box);

    const name = document.createElement('td');
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'link-button';
    open.dataset.testid = 'open';
    open.textContent = item.full_name;
    open.addEventListener('click', () => onOpen(item.id));
    name.append(open);

    const note = document.createElement('td');
    if (item.duplicate_of) {
      setText(note, 'applications.duplicate');
      note.className = 'attention';
    }
    row.append(
      pick,
      cell(item.number ?? '—'),
      name,
      cell(professions.get(item.nomination_id) ?? item.nomination_id),
      statusCell(item.status),
      cell(formatTime(item.submitted_at)),
      note,
    );
    tbody.append(row);
  }
}

function addFact(list, key, value) {
  const term = document.createElement('dt');
  setText(term, key);
  const detail = document.createElement('dd');
  detail.textContent = value;
  list.append(term, detail);
}

/** Renders one application and links to its attachments. */
export function renderDetail(section, { application, attachments }) {
  section.querySelector('[data-testid="detail-name"]').textContent = application.full_name;
  const facts = section.querySelector('[data-testid="detail-facts"]');
  facts.replaceChildren();
  addFact(facts, 'applications.column.status', t(`application.status.${application.status}`));
  addFact(facts, 'applications.column.number', application.number ?? '—');
  addFact(facts, 'apply.birth_date', application.birth_date);
  addFact(facts, 'apply.employer', application.employer);
  addFact(facts, 'apply.position', application.position);
  addFact(facts, 'apply.experience_years', String(application.experience_years));
  addFact(facts, 'apply.email', application.email);
  addFact(facts, 'apply.phone', application.phone);
  addFact(facts, 'applications.consent', application.consent_version);
  if (application.rejection_reason) {
    addFact(facts, 'application_status.reason', application.rejection_reason);
  }
  const list = section.querySelector('[data-testid="detail-attachments"]');
  list.replaceChildren();
  attachments.forEach((attachment, index) => {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.href = attachmentUrl(attachment.id);
    link.dataset.testid = 'attachment';
    setText(link, 'applications.attachment', {
      number: index + 1,
      kind: attachment.kind.toUpperCase(),
      size: Math.ceil(attachment.size / 1024),
    });
    item.append(link);
    list.append(item);
  });
  if (attachments.length === 0) {
    const item = document.createElement('li');
    setText(item, 'applications.no_attachments');
    list.append(item);
  }
  section.hidden = false;
}
