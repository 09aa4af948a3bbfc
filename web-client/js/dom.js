// Small helpers that build elements for the console and personal pages.

import { setText } from './i18n.js';

/**
 * Creates `<tag>` with options: `className`, `text` (literal text), `key` and `vars` (text
 * from the catalog), `testid`, `attrs` (attributes) and `on` (event listeners).
 */
export function element(tag, options = {}, children = []) {
  const node = document.createElement(tag);
  if (options.className) {
    node.className = options.className;
  }
  if (options.text !== undefined) {
    node.textContent = options.text;
  }
  if (options.key) {
    setText(node, options.key, options.vars ?? {});
  }
  if (options.testid) {
    node.dataset.testid = options.testid;
  }
  for (const [name, value] of Object.entries(options.attrs ?? {})) {
    node.setAttribute(name, value);
  }
  for (const [type, listener] of Object.entries(options.on ?? {})) {
    node.addEventListener(type, listener);
  }
  node.append(...children);
  return node;
}

/** Creates a button with catalog text. */
export function button(key, testid, onClick, className = 'button') {
  return element('button', { className, key, testid, attrs: { type: 'button' }, on: { click: onClick } });
}

/** Fills `select` with `items` as options of `value(item)` and `label(item)`, keeping the choice. */
export function fillSelect(select, items, value, label, emptyKey = null) {
  const previous = select.value;
  const options = items.map((item) => element('option', { text: label(item), attrs: { value: value(item) } }));
  if (emptyKey !== null) {
    options.unshift(element('option', { key: emptyKey, attrs: { value: '' } }));
  }
  select.replaceChildren(...options);
  if (items.some((item) => value(item) === previous)) {
    select.value = previous;
  }
}

/**
 * Copies the link in `input` to the clipboard and reports it in `status`. When the browser
 * rejects the copy, it selects the link and prompts the user to copy it by hand.
 */
export async function copyLink(input, status) {
  try {
    await navigator.clipboard.writeText(input.value);
    setText(status, 'invites.copied');
  } catch {
    input.select();
    setText(status, 'invites.copy_by_hand');
  }
}
