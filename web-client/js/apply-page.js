// apply.html?stage=…&nomination=…: the public application form. The page shows the
// consent text and gives hints; the server checks every field and decides.

import { ApiError, fetchForm, submitApplication } from './applications-api.js';
import { clearFieldErrors, showFieldErrors } from './application-fields.js';
import { fieldText } from './form-errors.js';
import { clearError, initErrorBanner, showError } from './error-banner.js';
import { currentLanguage, initLanguage, onLanguageChange, setText, t } from './i18n.js';

// The server's limits, repeated here only for hints.
const MAX_FILES = 5;
const MAX_FILE_BYTES = 5 * 1024 * 1024;
const MAX_TOTAL_BYTES = 15 * 1024 * 1024;

const form = document.getElementById('application-form');
const loading = document.getElementById('loading');
let shownForm = null;

function formatDate(ms) {
  return new Date(ms).toLocaleDateString(currentLanguage(), { dateStyle: 'long' });
}

function showAbout(data) {
  document.querySelector('[data-testid="profession"]').textContent = data.profession;
  document.querySelector('[data-testid="contest"]').textContent =
    `${data.contest_name} — ${data.region}`;
  setText(document.querySelector('[data-testid="dates"]'), 'apply.dates', {
    start: formatDate(data.starts_at),
    end: formatDate(data.ends_at),
  });
  document.querySelector('[data-testid="consent-text"]').textContent = data.consent.body;
  setText(document.querySelector('[data-testid="consent-version"]'), 'apply.consent_version', {
    version: data.consent.version,
  });
  document.getElementById('about').hidden = false;
}

/** Returns hints about the chosen files, as the server would report them. */
function fileHints(files) {
  const hints = [];
  if (files.length > MAX_FILES) {
    hints.push({ field: 'attachments', message: t('apply.hint_count', { max: MAX_FILES }) });
  }
  let total = 0;
  files.forEach((file, index) => {
    total += file.size;
    if (file.size > MAX_FILE_BYTES) {
      hints.push({ field: `attachments[${index}]`, message: t('apply.hint_file_size') });
    }
  });
  if (total > MAX_TOTAL_BYTES) {
    hints.push({ field: 'attachments', message: t('apply.hint_total_size') });
  }
  return hints;
}

function buildFormData() {
  const data = new FormData();
  data.set('nomination_id', shownForm.nomination_id);
  data.set('consent_version', shownForm.consent.version);
  for (const name of ['full_name', 'birth_date', 'employer', 'position', 'email', 'phone']) {
    data.set(name, form.elements[name].value);
  }
  data.set('experience_years', form.elements.experience_years.value);
  data.set('consent', form.elements.consent.checked ? 'true' : 'false');
  for (const file of form.elements.attachments.files) {
    data.append('attachments', file, file.name);
  }
  return data;
}

function showSent(receipt) {
  const link = document.querySelector('[data-testid="status-link"]');
  const url = new URL(receipt.status_url, window.location.href).href;
  link.href = url;
  link.textContent = url;
  form.hidden = true;
  document.getElementById('sent').hidden = false;
}

function showFailure(error) {
  if (!(error instanceof ApiError)) {
    showError('apply.unreachable');
    return;
  }
  if (error.status === 422) {
    // Fields that the form has no place for, such as an unknown one, go to the banner.
    const placed = new Set(showFieldErrors(form, error.fields));
    const rest = error.fields.filter((field) => !placed.has(field));
    const message = rest.map((field) => `${field.field}: ${fieldText(field)}`).join('; ');
    showError(rest.length === 0 ? 'apply.check_fields' : 'apply.failed', { message });
  } else if (error.status === 413) {
    showError('apply.too_large');
  } else if (error.status === 429) {
    showError('apply.too_many');
  } else {
    showError('apply.failed', { message: error.message });
  }
}

async function submit(event) {
  event.preventDefault();
  clearError();
  clearFieldErrors(form);
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    showSent(await submitApplication(buildFormData()));
  } catch (error) {
    showFailure(error);
  } finally {
    button.disabled = false;
  }
}

async function start() {
  initLanguage();
  initErrorBanner();
  const params = new URLSearchParams(window.location.search);
  const stage = params.get('stage');
  const nomination = params.get('nomination');
  form.addEventListener('submit', submit);
  form.elements.attachments.addEventListener('change', () => {
    clearFieldErrors(form);
    showFieldErrors(form, fileHints([...form.elements.attachments.files]));
  });
  try {
    if (!stage || !nomination) {
      showError('apply.no_nomination');
      return;
    }
    shownForm = await fetchForm(stage, nomination);
    showAbout(shownForm);
    onLanguageChange(() => showAbout(shownForm));
    form.hidden = false;
  } catch (error) {
    showError(error instanceof ApiError && error.status < 500 ? 'apply.closed' : 'apply.unreachable');
  } finally {
    loading.hidden = true;
  }
}

start();
