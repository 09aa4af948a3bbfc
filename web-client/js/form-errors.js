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

/** Returns the text of one field error by its code, else the server's English message. */
export function fieldText(fieldError) {
  const text = fieldError.code ? known(`field.${fieldError.code}`, fieldError.params ?? {}) : null;
  return text ?? fieldError.message;
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
      leftover.push(`${field}: ${message}`);
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
    summary.textContent = [errorText(error), ...leftover].join(' ');
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
