// The question bank of the chosen nomination in the console's theory section: every
// question with its answers, a form that adds one or changes one, and deleting. The server
// rejects changes to questions that an attempt has drawn, and the form shows why.

import { get, post, put, remove } from './contest-api.js';
import { button, element } from './dom.js';
import { onSubmit } from './form-errors.js';
import { setText, t } from './i18n.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

/** Splits a textarea into its non-empty lines. */
function lines(text) {
  return text.split('\n').map((line) => line.trim()).filter((line) => line !== '');
}

/** Reads option numbers such as «1, 3». Anything else goes to the server as is, which rejects it. */
function numbers(text) {
  return text.split(/[\s,;]+/).filter((part) => part !== '').map((part) => {
    const number = Number(part);
    return Number.isInteger(number) ? number : part;
  });
}

function answerText(question) {
  if (question.kind === 'short') {
    return t('questions.accepted_list', { answers: question.accepted.join(' | ') });
  }
  const marked = question.options.map((option, index) =>
    (question.correct.includes(index + 1) ? `✓ ${option}` : option));
  return marked.join(' | ');
}

/** Wires the bank list and question form to `state` and returns the function that loads them. */
export function initQuestions(state, report) {
  const form = document.getElementById('question-form');
  const submit = byTestId('save-question');
  const stopEditing = byTestId('cancel-question-edit');
  let editing = null; // the question the form changes, or null to add one

  function showKindFields() {
    const short = form.elements.kind.value === 'short';
    byTestId('question-choice').hidden = short;
    byTestId('question-short').hidden = !short;
  }

  function edit(question) {
    editing = question;
    form.elements.kind.value = question?.kind ?? 'single';
    form.elements.text.value = question?.text ?? '';
    form.elements.options.value = question?.options.join('\n') ?? '';
    form.elements.correct.value = question?.correct.join(', ') ?? '';
    form.elements.accepted.value = question?.accepted.join('\n') ?? '';
    form.elements.points.value = String(question?.points ?? 1);
    setText(submit, question ? 'questions.save' : 'questions.add');
    stopEditing.hidden = question === null;
    showKindFields();
    if (question) {
      form.elements.text.focus();
    }
  }

  function renderQuestion(question) {
    const kind = `questions.kind_${question.kind}`;
    const item = element('li', { className: 'item', testid: 'bank-question' }, [
      element('strong', { text: question.text }),
      ' ',
      element('span', { className: 'muted', key: kind }),
      ' ',
      element('span', { className: 'muted', key: 'questions.points_of', vars: { points: question.points } }),
      element('p', { className: 'muted', text: answerText(question) }),
    ]);
    item.dataset.id = question.id;
    const deleteQuestion = async () => {
      if (!window.confirm(t('questions.confirm_delete'))) {
        return;
      }
      try {
        await remove(`/theory-questions/${question.id}`);
      } catch (error) {
        report(error);
      }
      state.dispatchEvent(new Event('bank'));
    };
    item.append(element('div', { className: 'controls' }, [
      button('questions.edit', 'edit-question', () => edit(question)),
      button('questions.delete', 'delete-question', deleteQuestion),
    ]));
    return item;
  }

  async function reload() {
    const nomination = state.nomination;
    submit.disabled = nomination === '';
    if (nomination === '') {
      byTestId('bank-questions').replaceChildren();
      return;
    }
    try {
      const bank = await get(`/nominations/${nomination}/theory-questions`);
      byTestId('bank-questions').replaceChildren(...bank.map(renderQuestion));
    } catch (error) {
      report(error);
    }
  }

  onSubmit(form, async () => {
    const kind = form.elements.kind.value;
    const short = kind === 'short';
    const points = form.elements.points.value;
    const body = {
      kind,
      text: form.elements.text.value,
      options: short ? [] : lines(form.elements.options.value),
      correct: short ? [] : numbers(form.elements.correct.value),
      accepted: short ? lines(form.elements.accepted.value) : [],
      points: points === '' ? null : Number(points),
    };
    if (editing === null) {
      await post(`/nominations/${state.nomination}/theory-questions`, body);
    } else {
      await put(`/theory-questions/${editing.id}`, body);
    }
    edit(null);
    state.dispatchEvent(new Event('bank'));
    return false;
  });
  form.elements.kind.addEventListener('change', showKindFields);
  stopEditing.addEventListener('click', () => edit(null));
  state.addEventListener('nomination', () => {
    edit(null);
    reload();
  });
  state.addEventListener('bank', reload);
  return reload;
}
