// The assessment sheet of one participant: one input per criterion, saved as the expert
// types (PUT is idempotent, so every save sends all marks), and locked with one button.

import { request, post } from './contest-api.js';
import { element } from './dom.js';
import { clearFormErrors, showFormErrors } from './form-errors.js';
import { setText } from './i18n.js';
import { formatTime } from './time-format.js';

const SAVE_DELAY_MS = 400;

/** Builds the input of one criterion: whole points, or a yes/no choice. */
function criterionField(criterion, mark, onInput) {
  const name = `mark-${criterion.id}`;
  let input;
  if (criterion.kind === 'yes_no') {
    input = element('select', { attrs: { name } }, [
      element('option', { key: 'scoring.no_mark', attrs: { value: '' } }),
      element('option', { key: 'scoring.yes', attrs: { value: 'yes' } }),
      element('option', { key: 'scoring.no', attrs: { value: 'no' } }),
    ]);
    if (mark !== undefined) {
      input.value = mark.points > 0 ? 'yes' : 'no';
    }
  } else {
    input = element('input', {
      attrs: { name, type: 'number', min: '0', max: String(criterion.max_points), step: '1' },
    });
    if (mark !== undefined) {
      input.value = String(mark.points);
    }
  }
  input.dataset.testid = 'mark-input';
  input.dataset.criterion = criterion.id;
  input.addEventListener(criterion.kind === 'yes_no' ? 'change' : 'input', onInput);
  const label = element('label', { className: 'field' }, [
    element('span', {
      key: 'scoring.criterion_label',
      vars: { position: criterion.position, name: criterion.name, max: criterion.max_points },
    }),
    input,
  ]);
  if (criterion.description) {
    label.append(element('small', { className: 'muted', text: criterion.description }));
  }
  return label;
}

/** Reads the value of a criterion's input as the API expects it. */
function markValue(criterion, input) {
  if (input.value === '') {
    return null;
  }
  if (criterion.kind === 'yes_no') {
    return input.value === 'yes';
  }
  const points = Number(input.value);
  return Number.isInteger(points) ? points : input.value;
}

/**
 * The sheet form of the page, bound to one participant of one stage part at a time.
 * `onChange(sheet)` runs after each save and after locking.
 */
export class SheetForm {
  constructor(form, onChange) {
    this.form = form;
    this.onChange = onChange;
    this.criteria = [];
    this.sheet = null;
    this.target = null;
    this.timer = null;
    this.saving = Promise.resolve();
    this.byTestId = (id) => form.querySelector(`[data-testid="${id}"]`);
    this.byTestId('lock-sheet').addEventListener('click', () => this.lock());
    this.byTestId('sheet-comment').addEventListener('input', () => this.scheduleSave());
  }

  /** Shows the sheet of `participant` in `part`, loading the expert's saved marks. */
  async show(part, participant) {
    await this.flush();
    this.target = { part: part.id, participant: participant.person_id };
    this.criteria = part.criteria;
    const path = `/parts/${part.id}/sheets/${participant.person_id}`;
    const reply = await request('GET', path);
    this.sheet = reply.sheet;
    setText(this.byTestId('sheet-part'), 'scoring.sheet_of', {
      part: part.title,
      name: participant.full_name,
    });
    const marks = new Map((this.sheet?.marks ?? []).map((mark) => [mark.criterion_id, mark]));
    const fields = this.criteria.map((criterion) =>
      criterionField(criterion, marks.get(criterion.id), () => this.scheduleSave()),
    );
    this.byTestId('criteria').replaceChildren(...fields);
    this.byTestId('sheet-comment').value = this.sheet?.comment ?? '';
    clearFormErrors(this.form);
    this.render();
  }

  render() {
    const locked = this.sheet?.locked_at != null;
    for (const input of this.form.querySelectorAll('input, select, textarea')) {
      input.disabled = locked;
    }
    this.byTestId('lock-sheet').hidden = locked;
    this.form.dataset.state = locked ? 'locked' : 'open';
    const status = this.byTestId('save-status');
    if (locked) {
      setText(status, 'scoring.locked_at', { time: formatTime(this.sheet.locked_at) });
    } else if (this.sheet !== null) {
      setText(status, 'scoring.saved_at', { time: formatTime(this.sheet.updated_at) });
    } else {
      setText(status, 'scoring.not_saved');
    }
    const pdf = this.byTestId('sheet-pdf');
    pdf.hidden = this.sheet === null;
    if (this.sheet !== null) {
      pdf.href = `/api/v1/sheets/${this.sheet.id}/pdf`;
    }
  }

  scheduleSave() {
    clearTimeout(this.timer);
    setText(this.byTestId('save-status'), 'scoring.saving');
    this.form.dataset.saved = 'false';
    this.timer = setTimeout(() => this.save(), SAVE_DELAY_MS);
  }

  /** Saves now if a save is waiting, and waits for the save in flight. */
  async flush() {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
      await this.save();
    }
    await this.saving;
  }

  save() {
    this.timer = null;
    const { part, participant } = this.target;
    const marks = this.criteria.map((criterion) => {
      const input = this.form.querySelector(`[data-criterion="${criterion.id}"]`);
      return { criterion_id: criterion.id, value: markValue(criterion, input) };
    });
    const comment = this.byTestId('sheet-comment').value;
    const body = { marks, comment };
    this.saving = this.saving.then(async () => {
      try {
        this.sheet = await request('PUT', `/parts/${part}/sheets/${participant}`, body);
        clearFormErrors(this.form);
        this.render();
        this.form.dataset.saved = 'true';
        this.onChange(this.sheet);
      } catch (error) {
        this.showError(error);
      }
    });
    return this.saving;
  }

  async lock() {
    await this.flush();
    if (this.sheet === null) {
      await this.save();
    }
    if (this.sheet === null) {
      return;
    }
    try {
      this.sheet = await post(`/sheets/${this.sheet.id}/lock`);
      this.render();
      this.onChange(this.sheet);
    } catch (error) {
      this.showError(error);
    }
  }

  /** Shows an error reply; a mark's error goes under that criterion's input. */
  showError(error) {
    // The API names a mark `marks[i]` (save) or `marks.<criterion id>` (lock).
    const fields = (error.fields ?? []).map((field) => {
      const indexed = /^marks\[(\d+)\]$/.exec(field.field);
      const named = /^marks\.(.+)$/.exec(field.field);
      const criterion = indexed ? this.criteria[Number(indexed[1])]?.id : named?.[1];
      return criterion ? { ...field, field: `mark-${criterion}` } : field;
    });
    const shown = error?.name === 'ApiError'
      ? { name: error.name, code: error.code, message: error.message, retryAfter: null, fields }
      : error;
    showFormErrors(this.form, shown);
    setText(this.byTestId('save-status'), 'scoring.save_failed');
    this.form.dataset.saved = 'false';
  }
}
