// The participant block of an accepted application on applications.html: it creates the
// participant's invite link in place, so that the organiser need not look the person up in
// the console.

import { createInvite } from './applications-api.js';
import { copyLink } from './dom.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);
let personId = null; // the participant of the application shown

/** Shows the block for an accepted application's participant, or hides it. */
export function showParticipant(application) {
  personId = application.status === 'accepted' ? application.person_id : null;
  byTestId('detail-participant').hidden = personId === null;
  byTestId('detail-new-invite').hidden = true;
  byTestId('detail-invite-link').value = '';
}

/** Wires the block's buttons; `onError` receives a failed request's error. */
export function initParticipantInvite(onError) {
  byTestId('detail-create-invite').addEventListener('click', async () => {
    if (personId === null) {
      return;
    }
    try {
      const created = await createInvite(personId);
      const link = new URL(`invite.html#${created.token}`, window.location.href).href;
      byTestId('detail-invite-link').value = link;
      byTestId('detail-copy-status').textContent = '';
      byTestId('detail-new-invite').hidden = false;
    } catch (error) {
      onError(error);
    }
  });
  byTestId('detail-copy-invite').addEventListener('click', () =>
    copyLink(byTestId('detail-invite-link'), byTestId('detail-copy-status')),
  );
}
