// The console's theory section. It shows the size of the chosen nomination's question bank
// with import and export (`console-questions.js` lists and edits the questions), and the
// theory tests of the chosen stage part with publication. For one test it shows the
// results, their CSV export and the import of external results.

import { get, listAll, post, upload } from './contest-api.js';
import { button, element } from './dom.js';
import { onSubmit } from './form-errors.js';
import { setText } from './i18n.js';
import { formatTime, fromLocalInput } from './time-format.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

/** Wires the theory section to `state`; returns the function that loads it. */
export function initTheory(state, report) {
  const bankForm = document.getElementById('bank-import-form');
  const testForm = document.getElementById('theory-test-form');
  const resultsForm = document.getElementById('results-import-form');
  let shownTest = null; // the test whose results are shown

  async function reloadBank() {
    const nomination = state.nomination;
    byTestId('bank-import').disabled = nomination === '';
    for (const format of ['csv', 'json']) {
      const link = byTestId(`bank-export-${format}`);
      link.hidden = nomination === '';
      link.href = `/api/v1/nominations/${nomination}/theory-questions/export?format=${format}`;
      link.download = `questions.${format}`;
    }
    if (nomination === '') {
      setText(byTestId('bank-size'), 'theory_console.no_nomination');
      return;
    }
    try {
      const bank = await get(`/nominations/${nomination}/theory-questions`);
      setText(byTestId('bank-size'), 'theory_console.bank_size', { count: bank.length });
    } catch (error) {
      report(error);
    }
  }

  function renderTest(test) {
    const published = test.published_at !== null;
    const item = element('li', {
      className: 'item',
      testid: 'theory-test',
      attrs: { 'data-id': test.id },
    }, [
      element('strong', { text: test.title }),
      ' ',
      element('span', { className: 'muted', text: formatTime(test.starts_at) }),
      ' ',
    ]);
    if (test.opens_until !== null) {
      const time = formatTime(test.opens_until);
      item.append(element('span', { className: 'muted', key: 'tasks.opens_until_at', vars: { time } }), ' ');
    }
    if (published) {
      item.append(element('span', { key: 'theory_console.published' }), ' ');
    } else {
      item.append(button('theory_console.publish', 'publish-theory-test', () => publish(test)), ' ');
    }
    item.append(
      button('theory_console.results', 'show-results', () => showResults(test)),
      ' ',
      element('a', {
        className: 'button',
        key: 'theory_console.identity',
        testid: 'open-identity',
        attrs: { href: `identity.html?test=${encodeURIComponent(test.id)}`, target: '_blank' },
      }),
    );
    return item;
  }

  async function reloadTests() {
    const part = state.part;
    byTestId('create-theory-test').disabled = part === '';
    setText(byTestId('theory-part'), part === '' ? 'theory_console.no_part' : 'theory_console.tests');
    if (part === '') {
      byTestId('theory-tests').replaceChildren();
      return;
    }
    let tests = [];
    try {
      tests = (await listAll(`/parts/${part}/tasks`)).filter((task) => task.kind === 'theory');
    } catch (error) {
      report(error);
    }
    byTestId('theory-tests').replaceChildren(...tests.map(renderTest));
  }

  async function publish(test) {
    try {
      await post(`/tasks/${test.id}/publish`);
    } catch (error) {
      report(error);
    }
    await reloadTests();
  }

  function renderResult(result) {
    const closed = result.closed_at === null ? '' : formatTime(result.closed_at);
    const score = `${result.score.toFixed(2)} / ${result.max_score.toFixed(2)}`;
    const cells = [
      element('td', { text: result.full_name }),
      element('td', { text: result.application_number ?? '' }),
      element('td', { text: score, testid: 'result-score' }),
      element('td', { key: `theory_console.source_${result.source}` }),
      element('td', { text: closed }),
      element('td', { text: result.identity ?? '' }),
    ];
    return element('tr', { testid: 'result-row', attrs: { 'data-person': result.person_id } }, cells);
  }

  async function showResults(test) {
    shownTest = test;
    byTestId('theory-results').hidden = false;
    setText(byTestId('results-heading'), 'theory_console.results_of', { title: test.title });
    const csv = byTestId('results-csv');
    csv.href = `/api/v1/theory-tests/${test.id}/results/csv`;
    csv.download = 'theory-results.csv';
    try {
      const results = await get(`/theory-tests/${test.id}/results`);
      byTestId('result-rows').replaceChildren(...results.items.map(renderResult));
      byTestId('no-results').hidden = results.items.length > 0;
    } catch (error) {
      report(error);
    }
  }

  onSubmit(bankForm, async () => {
    const file = bankForm.elements.file.files[0];
    const format = bankForm.elements.format.value;
    const type = format === 'json' ? 'application/json' : 'text/csv';
    const path = `/nominations/${state.nomination}/theory-questions/import?format=${format}`;
    const reply = await upload(path, file ?? '', type);
    setText(byTestId('bank-import-status'), 'theory_console.imported', { count: reply.imported });
    state.dispatchEvent(new Event('bank'));
    return true;
  });

  // The latest first opening applies only when the limit runs from each first opening.
  const showOpensUntil = () => {
    const firstOpening = testForm.elements.limit_mode.value === 'first_opening';
    byTestId('theory-opens-until-field').hidden = !firstOpening;
  };
  testForm.elements.limit_mode.addEventListener('change', showOpensUntil);

  onSubmit(testForm, async () => {
    const count = testForm.elements.question_count.value;
    const limitMode = testForm.elements.limit_mode.value;
    await post(`/parts/${state.part}/theory-tests`, {
      title: testForm.elements.title.value,
      starts_at: fromLocalInput(testForm.elements.starts_at.value),
      time_limit_secs: Number(testForm.elements.time_limit_secs.value) * 60,
      limit_mode: limitMode,
      question_count: count === '' ? null : Number(count),
      opens_until:
        limitMode === 'first_opening' ? fromLocalInput(testForm.elements.opens_until.value) : null,
    });
    await reloadTests();
    return true;
  });

  onSubmit(resultsForm, async () => {
    const file = resultsForm.elements.file.files[0];
    const path = `/theory-tests/${shownTest.id}/results/import`;
    await upload(path, file ?? '', 'text/csv');
    await showResults(shownTest);
    return true;
  });

  state.addEventListener('nomination', reloadBank);
  state.addEventListener('bank', reloadBank);
  state.addEventListener('part', () => {
    byTestId('theory-results').hidden = true;
    reloadTests();
  });
  return async () => {
    await reloadBank();
    await reloadTests();
  };
}
