// The page's error banner: one message at a time, announced by screen readers.

import { setText } from './i18n.js';

const banner = () => document.querySelector('[data-testid="error"]');

/** Shows the text of `key` in the banner, replacing any earlier message. */
export function showError(key, vars = {}) {
  const element = banner();
  if (!element) {
    return;
  }
  setText(element.querySelector('.banner-text'), key, vars);
  element.hidden = false;
}

/** Hides the banner. */
export function clearError() {
  const element = banner();
  if (element) {
    element.hidden = true;
  }
}

/** Lets the banner's close button hide it. */
export function initErrorBanner() {
  banner()?.querySelector('.banner-close')?.addEventListener('click', clearError);
}
