// Error messages next to the fields of the application form, from the server's `fields`.

import { fieldText } from './form-errors.js';
import { setText } from './i18n.js';

/** Hides every field message under `form`. */
export function clearFieldErrors(form) {
  for (const element of form.querySelectorAll('[data-error-for]')) {
    element.hidden = true;
    element.textContent = '';
  }
  for (const input of form.querySelectorAll('[aria-invalid]')) {
    input.removeAttribute('aria-invalid');
  }
}

/**
 * Shows each of the server's field errors next to its field; `attachments[2]` goes to the
 * attachments field. Returns the errors that were placed.
 */
export function showFieldErrors(form, fields) {
  const placed = [];
  for (const fieldError of fields) {
    const { field } = fieldError;
    const message = fieldText(fieldError);
    const name = field.replace(/\[\d+\]$/, '');
    const element = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (!element) {
      continue;
    }
    placed.push(fieldError);
    const index = field.match(/\[(\d+)\]$/);
    const key = index ? 'apply.file_error' : 'apply.field_error';
    // One field may have several errors, such as two invalid files.
    const line = document.createElement('span');
    line.className = 'field-error-line';
    setText(line, key, { message, number: index ? Number(index[1]) + 1 : '' });
    element.append(line);
    element.hidden = false;
    form.elements[name]?.setAttribute?.('aria-invalid', 'true');
  }
  return placed;
}
