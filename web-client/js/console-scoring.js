// The console's scoring section: the assessment criteria of the chosen stage part (add,
// edit, move up or down, delete) and the scoring rule of the chosen stage (aggregation of
// the experts' marks and the weights of theory and practice).

import { get, post, put, remove } from './contest-api.js';
import { button, element } from './dom.js';
import { onSubmit } from './form-errors.js';
import { setText, t } from './i18n.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

/** Wires the criteria list and form to `state` and returns the function that loads them. */
function initCriteria(state, report) {
  const form = document.getElementById('criterion-form');
  const submit = byTestId('save-criterion');
  const stopEditing = byTestId('cancel-criterion-edit');
  let editing = null; // the criterion the form changes, or null to add one

  function edit(criterion) {
    editing = criterion;
    form.elements.name.value = criterion?.name ?? '';
    form.elements.description.value = criterion?.description ?? '';
    form.elements.max_points.value = criterion ? String(criterion.max_points) : '';
    form.elements.kind.value = criterion?.kind ?? 'points';
    setText(submit, criterion ? 'criteria.save' : 'criteria.add');
    stopEditing.hidden = criterion === null;
    if (criterion) {
      form.elements.name.focus();
    }
  }

  async function change(action) {
    try {
      await action();
    } catch (error) {
      report(error);
    }
    await reload();
  }

  function moveButton(criterion, position, key, testid) {
    const moveTo = () => post(`/criteria/${criterion.id}/move`, { position });
    const control = button(key, testid, () => change(moveTo));
    control.setAttribute('aria-label', t(`${key}_label`, { name: criterion.name }));
    return control;
  }

  function renderCriterion(criterion, count) {
    const scale = criterion.kind === 'yes_no' ? 'criteria.scale_yes_no' : 'criteria.scale_points';
    const item = element('li', { className: 'item', testid: 'criterion' }, [
      element('strong', { text: criterion.name }),
      ' ',
      element('span', { className: 'muted', key: scale, vars: { max: criterion.max_points } }),
    ]);
    item.dataset.id = criterion.id;
    if (criterion.description !== '') {
      item.append(element('p', { className: 'muted', text: criterion.description }));
    }
    const controls = element('div', { className: 'controls' });
    if (criterion.position > 1) {
      controls.append(moveButton(criterion, criterion.position - 1, 'criteria.up', 'criterion-up'));
    }
    if (criterion.position < count) {
      controls.append(moveButton(criterion, criterion.position + 1, 'criteria.down', 'criterion-down'));
    }
    const deleteCriterion = () => {
      if (window.confirm(t('criteria.confirm_delete', { name: criterion.name }))) {
        change(() => remove(`/criteria/${criterion.id}`));
      }
    };
    controls.append(
      button('criteria.edit', 'edit-criterion', () => edit(criterion)),
      button('criteria.delete', 'delete-criterion', deleteCriterion),
    );
    item.append(controls);
    return item;
  }

  async function reload() {
    const part = state.part;
    submit.disabled = part === '';
    const name = document.getElementById('part-select').selectedOptions[0]?.textContent;
    setText(byTestId('criteria-part'), part === '' ? 'criteria.no_part' : 'criteria.of', {
      part: name ?? '',
    });
    if (part === '') {
      byTestId('criteria-list').replaceChildren();
      return;
    }
    try {
      const { items } = await get(`/parts/${part}/criteria`);
      byTestId('criteria-list').replaceChildren(
        ...items.map((criterion) => renderCriterion(criterion, items.length)));
    } catch (error) {
      report(error);
    }
  }

  onSubmit(form, async () => {
    const max = form.elements.max_points.value;
    const body = {
      name: form.elements.name.value,
      description: form.elements.description.value,
      max_points: max === '' ? null : Number(max),
      kind: form.elements.kind.value,
    };
    if (editing === null) {
      await post(`/parts/${state.part}/criteria`, body);
    } else {
      await put(`/criteria/${editing.id}`, body);
      edit(null);
    }
    await reload();
    return true;
  });
  stopEditing.addEventListener('click', () => edit(null));
  state.addEventListener('part', () => {
    edit(null);
    reload();
  });
  return reload;
}

/** Wires the scoring rule form to `state` and returns the function that loads it. */
function initRule(state, report) {
  const form = document.getElementById('rule-form');
  const status = byTestId('rule-status');

  function show(rule) {
    form.elements.aggregation.value = rule.aggregation;
    form.elements.theory_weight.value = String(rule.weights.theory);
    form.elements.practice_weight.value = String(rule.weights.practice);
  }

  async function reload() {
    const stage = state.stage;
    byTestId('save-rule').disabled = stage === '';
    status.textContent = '';
    const name = document.getElementById('stage-select').selectedOptions[0]?.textContent;
    setText(byTestId('rule-stage'), stage === '' ? 'rule.no_stage' : 'rule.of', {
      stage: name ?? '',
    });
    if (stage === '') {
      return;
    }
    try {
      show(await get(`/stages/${stage}/scoring-rule`));
    } catch (error) {
      report(error);
    }
  }

  const weight = (input) => (input.value === '' ? null : Number(input.value));
  onSubmit(form, async () => {
    const rule = await put(`/stages/${state.stage}/scoring-rule`, {
      aggregation: form.elements.aggregation.value,
      theory_weight: weight(form.elements.theory_weight),
      practice_weight: weight(form.elements.practice_weight),
    });
    show(rule);
    setText(status, 'rule.saved');
    return false;
  });
  state.addEventListener('stage', reload);
  return reload;
}

/** Wires the scoring section to `state` and returns the function that loads it. */
export function initScoring(state, report) {
  const loaders = [initCriteria(state, report), initRule(state, report)];
  return () => Promise.all(loaders.map((load) => load()));
}
