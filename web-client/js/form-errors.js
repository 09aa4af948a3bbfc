// Shows the errors of a contest API reply in a form: each field's message next to the
// input of that name, and anything else in the form's own error line.

import { t } from './i18n.js';

/** Removes every message that showFormErrors placed in `form`. */
export function clearFormErrors(form) {
  for (const element of form.querySelectorAll('.field-error')) {
    element.remove();
  }
  for (const input of form.querySelectorAll('[aria-invalid]')) {
    input.removeAttribute('aria-invalid');
  }
  const summary = form.querySelector('.form-error');
  if (summary) {
    summary.textContent = '';
    summary.hidden = true;
  }
}

/** Returns the text of `key` in the page language, or null when no catalog has it. */
function known(key, vars = {}) {
  const text = t(key, vars);
  return text === key ? null : text;
}

/**
 * Returns the user-facing text of an error in the page language: by its reason, such as
 * `stage_has_dependents`, else by its code, else the server's English message.
 */
export function errorText(error) {
  if (error?.name !== 'ApiError') {
    return t('api.unreachable');
  }
  if (error.code === 'too_many_attempts' && error.retryAfter !== null) {
    return t('api.too_many_attempts', { seconds: error.retryAfter });
  }
  const byReason = error.reason ? known(`api.reason.${error.reason}`) : null;
  return byReason ?? known(`api.${error.code}`) ?? error.message;
}

/**
 * Returns where a field error sits, such as "Line 3, points, entry 2", or null. An error of
 * an imported file names its line and column (or JSON path) in `line` and `field`, and an
 * error of one entry in a list names the entry's number in `entry`.
 */
function placeText(params) {
  const parts = [];
  if (params.line !== undefined) {
    parts.push(t('field.place.line', { line: params.line }));
  }
  if (params.field !== undefined) {
    parts.push(params.field);
  }
  if (params.entry !== undefined) {
    parts.push(t('field.place.entry', { entry: params.entry }));
  }
  if (parts.length === 0) {
    return null;
  }
  const place = parts.join(', ');
  return place.charAt(0).toLocaleUpperCase() + place.slice(1);
}

/**
 * Returns the text of one field error by its code with the values it names, else the
 * server's English message. The line and entry come first when the error names them.
 */
export function fieldText(fieldError) {
  const params = fieldError.params ?? {};
  const text = fieldError.code ? known(`field.${fieldError.code}`, params) : null;
  const message = text ?? fieldError.message;
  const place = placeText(params);
  return place === null ? message : t('field.placed', { place, message });
}

/**
 * Shows `error` in `form`. A field message goes under the input whose name matches the
 * field; messages for fields the form lacks, and the error itself, go to `.form-error`.
 */
export function showFormErrors(form, error) {
  clearFormErrors(form);
  const leftover = [];
  for (const fieldError of error?.fields ?? []) {
    const { field } = fieldError;
    const message = fieldText(fieldError);
    const input = form.querySelector(`[name="${CSS.escape(field)}"]`);
    if (!input) {
      // A problem of an imported file names its line, which locates it better than the field.
      const inFile = fieldError.params?.line !== undefined;
      leftover.push(inFile ? message : `${field}: ${message}`);
      continue;
    }
    input.setAttribute('aria-invalid', 'true');
    const note = document.createElement('p');
    note.className = 'field-error';
    note.dataset.testid = `field-error-${field}`;
    note.id = `${form.id || 'form'}-${field}-error`;
    note.textContent = message;
    input.setAttribute('aria-describedby', note.id);
    input.insertAdjacentElement('afterend', note);
  }
  const summary = form.querySelector('.form-error');
  if (summary) {
    // Each leftover message gets a line of its own, since a file may have many problems.
    summary.textContent = errorText(error);
    for (const message of leftover) {
      const line = document.createElement('span');
      line.className = 'field-error-line';
      line.dataset.testid = 'form-error-line';
      line.textContent = message;
      summary.append(line);
    }
    summary.hidden = false;
  }
}

/**
 * Runs `action` when `form` is submitted, with its submit button disabled meanwhile, and
 * shows any error in the form. `action` returns true to reset the form's inputs.
 */
export function onSubmit(form, action) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(form);
    const submit = form.querySelector('[type="submit"]');
    submit.disabled = true;
    try {
      if (await action()) {
        form.reset();
      }
    } catch (error) {
      showFormErrors(form, error);
    } finally {
      submit.disabled = false;
    }
  });
}
