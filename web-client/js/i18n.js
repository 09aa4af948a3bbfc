// User-facing text and the language switch. Every string shown to a user lives in
// i18n/ru.js or i18n/en.js; elements name their text with data-i18n attributes.

import ru from '../i18n/ru.js';
import en from '../i18n/en.js';

const CATALOGS = { ru, en };
const DEFAULT_LANGUAGE = 'ru';
const STORAGE_KEY = 'profstage.language';

const changes = new EventTarget();
let language = savedLanguage();

function savedLanguage() {
  let saved = null;
  try {
    saved = localStorage.getItem(STORAGE_KEY);
  } catch {
    // Storage can be disabled by the browser's privacy settings; use the default.
  }
  return saved !== null && Object.hasOwn(CATALOGS, saved) ? saved : DEFAULT_LANGUAGE;
}

/** The current language code, `ru` or `en`. */
export function currentLanguage() {
  return language;
}

/**
 * Looks up `key` in the current catalog and fills `{name}` placeholders from `vars`.
 * Falls back to Russian, then to the key itself so a missing entry is visible.
 */
export function t(key, vars = {}) {
  const text = CATALOGS[language][key] ?? CATALOGS[DEFAULT_LANGUAGE][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) =>
    Object.hasOwn(vars, name) ? String(vars[name]) : match,
  );
}

/** Gives `element` the text of `key`, kept up to date when the language changes. */
export function setText(element, key, vars = {}) {
  element.dataset.i18n = key;
  element.dataset.i18nVars = JSON.stringify(vars);
  element.textContent = t(key, vars);
}

/** Renders every element under `root` that carries data-i18n or data-i18n-attr. */
export function translate(root = document) {
  for (const element of root.querySelectorAll('[data-i18n]')) {
    const vars = element.dataset.i18nVars ? JSON.parse(element.dataset.i18nVars) : {};
    element.textContent = t(element.dataset.i18n, vars);
  }
  // data-i18n-attr="aria-label=key, title=other.key"
  for (const element of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of element.dataset.i18nAttr.split(',')) {
      const [attribute, key] = pair.split('=').map((part) => part.trim());
      element.setAttribute(attribute, t(key));
    }
  }
}

/** Switches the page to `code`, remembers the choice and re-renders all text. */
export function setLanguage(code) {
  if (!Object.hasOwn(CATALOGS, code)) {
    return;
  }
  language = code;
  try {
    localStorage.setItem(STORAGE_KEY, code);
  } catch {
    // Without storage the choice lasts until the page is closed.
  }
  document.documentElement.lang = code;
  translate(document);
  changes.dispatchEvent(new Event('change'));
}

/** Calls `listener` after every language switch. */
export function onLanguageChange(listener) {
  changes.addEventListener('change', listener);
}

/** Renders the page in the saved language and wires the switch button, if present. */
export function initLanguage() {
  document.documentElement.lang = language;
  translate(document);
  const button = document.querySelector('[data-testid="language"]');
  button?.addEventListener('click', () => setLanguage(language === 'ru' ? 'en' : 'ru'));
}
