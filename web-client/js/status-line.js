// The connection status shown in the page header.

import { setText } from './i18n.js';
import { sessionStatusKey } from './session.js';

/** Shows the state of `session` (or "not connected" for null) in `element`. */
export function renderStatus(element, session) {
  const key = sessionStatusKey(session);
  setText(element, key);
  element.dataset.state = key.replace('status.', '');
}
