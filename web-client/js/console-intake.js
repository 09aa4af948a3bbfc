// The console's section that opens applications. It shows the consent text in force with a
// form that publishes the next version. For the stage chosen in the structure section, it
// lists each nomination's link to the public form, to copy and send to applicants.

import { ApiError, get, listAll, post } from './contest-api.js';
import { button, copyLink, element } from './dom.js';
import { onSubmit } from './form-errors.js';
import { setText } from './i18n.js';
import { formatTime } from './time-format.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

/** Returns the absolute address of the application form of a nomination of a stage. */
export function applicationLink(stage, nomination) {
  const query = new URLSearchParams({ stage, nomination });
  return new URL(`apply.html?${query}`, window.location.href).href;
}

/** Shows the consent text in force, or that none is published yet. */
function showConsent(consent) {
  const details = byTestId('consent-current-details');
  if (consent === null) {
    setText(byTestId('consent-current'), 'intake.consent_none');
    details.hidden = true;
    return;
  }
  setText(byTestId('consent-current'), 'intake.consent_current', {
    version: consent.version,
    time: formatTime(consent.created_at),
  });
  byTestId('consent-current-body').textContent = consent.body;
  details.hidden = false;
}

function renderLink(stage, nomination) {
  const inputId = `application-link-${nomination.id}`;
  const input = element('input', {
    testid: 'application-link',
    attrs: { id: inputId, type: 'text', readonly: '', value: applicationLink(stage, nomination.id) },
  });
  const status = element('span', { className: 'muted', attrs: { role: 'status' } });
  const open = element('a', {
    className: 'button',
    key: 'intake.open',
    testid: 'open-application-link',
    attrs: { href: input.value, target: '_blank', rel: 'noopener' },
  });
  return element('li', {
    className: 'item new-link',
    testid: 'application-link-item',
    attrs: { 'data-id': nomination.id },
  }, [
    element('label', { text: nomination.profession, attrs: { for: inputId } }),
    input,
    button('invites.copy', 'copy-application-link', () => copyLink(input, status)),
    open,
    status,
  ]);
}

/** Wires the section to `state` and returns the function that loads it. */
export function initIntake(state, report) {
  const section = document.getElementById('intake');
  const form = document.getElementById('consent-form');
  let generation = 0; // counts reloads of the links, so that a late older one renders nothing

  async function reloadConsent() {
    try {
      showConsent(await get('/consent-texts/current'));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        showConsent(null);
      } else if (error instanceof ApiError && error.status === 403) {
        // Only those who may publish the consent text open applications.
        section.hidden = true;
        document.querySelector('a[href="#intake"]').hidden = true;
      } else {
        report(error);
      }
    }
  }

  async function reloadLinks() {
    const current = ++generation;
    const stage = state.stage;
    const name = document.getElementById('stage-select').selectedOptions[0]?.textContent;
    setText(byTestId('intake-stage'), stage === '' ? 'intake.no_stage' : 'intake.of', {
      stage: name ?? '',
    });
    let nominations = [];
    if (stage !== '') {
      try {
        nominations = await listAll(`/stages/${stage}/nominations`);
      } catch (error) {
        report(error);
      }
    }
    if (current !== generation) {
      return;
    }
    const items = nominations.map((nomination) => renderLink(stage, nomination));
    if (stage !== '' && items.length === 0) {
      items.push(element('li', { className: 'muted', key: 'intake.no_nominations' }));
    }
    byTestId('application-links').replaceChildren(...items);
  }

  onSubmit(form, async () => {
    const body = { version: form.elements.version.value, body: form.elements.body.value };
    showConsent(await post('/consent-texts', body));
    return true;
  });
  // Creating a stage or a nomination chooses it, so these events also follow creation.
  state.addEventListener('stage', reloadLinks);
  state.addEventListener('nomination', reloadLinks);
  return () => Promise.all([reloadConsent(), reloadLinks()]);
}
