// console.html: the organiser's console. It checks the session, then wires each section:
// structure, the opening of applications, people and invites, room assignments, expert
// groups, briefings, tasks, the theory stage with its question bank, scoring criteria and
// rules, and the audit log.
// Anyone who is not a signed-in organiser is sent to the sign-in page.

import { currentSession, remove } from './contest-api.js';
import { initAudit } from './console-audit.js';
import { initBriefings } from './console-briefings.js';
import { initGroups } from './console-groups.js';
import { initIntake } from './console-intake.js';
import { initAssignments, initPeople } from './console-people.js';
import { ConsoleState } from './console-state.js';
import { initStructure } from './console-structure.js';
import { initTasks } from './console-tasks.js';
import { initQuestions } from './console-questions.js';
import { initScoring } from './console-scoring.js';
import { initTheory } from './console-theory.js';
import { initErrorBanner, showError } from './error-banner.js';
import { errorText } from './form-errors.js';
import { initLanguage, setText } from './i18n.js';

const state = new ConsoleState();
const report = (error) => showError('console.failed', { reason: errorText(error) });

async function start() {
  let session;
  try {
    session = await currentSession();
  } catch (error) {
    report(error);
    return;
  }
  if (session === null || session.person.role !== 'organiser') {
    window.location.replace('signin.html');
    return;
  }
  setText(document.querySelector('[data-testid="signed-in-as"]'), 'console.signed_in_as', {
    name: session.person.full_name,
  });
  document.getElementById('console').hidden = false;

  const loaders = [
    initStructure(state, report),
    initIntake(state, report),
    initPeople(state, report),
    initAssignments(state, report),
    initGroups(state, report),
    initBriefings(state, report),
    initTasks(state, report),
    initTheory(state, report),
    initQuestions(state, report),
    initScoring(state, report),
  ];
  await Promise.all(loaders.map((load) => load()));
  await initAudit(state)().catch(report);
}

async function signOut() {
  try {
    await remove('/session');
  } catch (error) {
    report(error);
    return;
  }
  window.location.assign('signin.html');
}

initLanguage();
initErrorBanner();
document.querySelector('[data-testid="sign-out"]').addEventListener('click', signOut);
start();
