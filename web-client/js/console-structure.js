// The console's structure section: contests, their stages, nominations, stage parts and
// rooms, as five lists that each narrow the next, with a form to add to each. Each form
// can also load the chosen record, save changes to it, or delete it.

import { listAll, post, put, remove } from './contest-api.js';
import { button, element, fillSelect } from './dom.js';
import { clearFormErrors, onSubmit, showFormErrors } from './form-errors.js';
import { t } from './i18n.js';
import { formatTime, fromLocalInput, toLocalInput } from './time-format.js';

const LEVELS = [
  {
    level: 'contest',
    list: () => '/contests',
    create: () => '/contests',
    path: (id) => `/contests/${id}`,
    label: (contest) => contest.name,
    fill: (form, contest) => {
      form.elements.name.value = contest.name;
      form.elements.description.value = contest.description;
      form.elements.recording_retention_days.value = contest.recording_retention_days ?? '';
    },
    body: (form) => {
      const days = form.elements.recording_retention_days.value.trim();
      return {
        name: form.elements.name.value,
        description: form.elements.description.value,
        // An empty field keeps the server's default. Anything else goes as typed, so the
        // server's field error explains a value that is not a whole number of days.
        recording_retention_days: days === '' ? null : Number(days),
      };
    },
  },
  {
    level: 'stage',
    list: (state) => `/contests/${state.contest}/stages`,
    create: (state) => `/contests/${state.contest}/stages`,
    path: (id) => `/stages/${id}`,
    label: (stage) => `${stage.region}, ${formatTime(stage.starts_at)}`,
    fill: (form, stage) => {
      form.elements.region.value = stage.region;
      form.elements.starts_at.value = toLocalInput(stage.starts_at);
      form.elements.ends_at.value = toLocalInput(stage.ends_at);
    },
    body: (form) => ({
      region: form.elements.region.value,
      starts_at: fromLocalInput(form.elements.starts_at.value),
      ends_at: fromLocalInput(form.elements.ends_at.value),
    }),
  },
  {
    level: 'nomination',
    list: (state) => `/stages/${state.stage}/nominations`,
    create: (state) => `/stages/${state.stage}/nominations`,
    path: (id) => `/nominations/${id}`,
    label: (nomination) => nomination.profession,
    fill: (form, nomination) => {
      form.elements.profession.value = nomination.profession;
    },
    body: (form) => ({ profession: form.elements.profession.value }),
  },
  {
    level: 'part',
    list: (state) => `/nominations/${state.nomination}/parts`,
    create: (state) => `/nominations/${state.nomination}/parts`,
    path: (id) => `/parts/${id}`,
    label: (part) => `${part.title} (${t(`structure.${part.kind}`)})`,
    fill: (form, part) => {
      form.elements.kind.value = part.kind;
      form.elements.title.value = part.title;
    },
    body: (form) => ({ kind: form.elements.kind.value, title: form.elements.title.value }),
  },
  {
    level: 'room',
    list: (state) => `/parts/${state.part}/rooms`,
    create: (state) => `/parts/${state.part}/rooms`,
    path: (id) => `/rooms/${id}`,
    label: (room) => room.title,
    fill: (form, room) => {
      form.elements.title.value = room.title;
    },
    body: (form) => ({ title: form.elements.title.value }),
  },
];

/**
 * Runs `action` for a form's extra button, with the form's buttons disabled meanwhile, and
 * shows any error in the form. Afterwards the create button is enabled only when
 * `canCreate()` holds, because its level may have no parent record chosen.
 */
async function runInForm(form, action, canCreate) {
  clearFormErrors(form);
  const buttons = [...form.querySelectorAll('button')];
  buttons.forEach((node) => {
    node.disabled = true;
  });
  try {
    await action();
  } catch (error) {
    showFormErrors(form, error);
  } finally {
    buttons.forEach((node) => {
      node.disabled = node.type === 'submit' && !canCreate();
    });
  }
}

/** Wires the structure section to `state`; `report` shows errors outside the forms. */
export function initStructure(state, report) {
  const parentOf = (index) => (index === 0 ? null : LEVELS[index - 1].level);
  const select = (level) => document.getElementById(`${level}-select`);
  const form = (level) => document.getElementById(`${level}-form`);
  const shown = new Map(); // level -> the records its list shows
  const hasParent = (index) => parentOf(index) === null || state[parentOf(index)] !== '';

  async function reload(index, chosen = null) {
    const { level, list, label } = LEVELS[index];
    const disabled = !hasParent(index);
    select(level).disabled = disabled;
    form(level).querySelector('[type="submit"]').disabled = disabled;
    let items = [];
    if (!disabled) {
      try {
        items = await listAll(list(state));
      } catch (error) {
        report(error);
      }
    }
    shown.set(level, items);
    fillSelect(select(level), items, (item) => item.id, label, 'structure.none');
    if (chosen !== null) {
      select(level).value = chosen;
    } else if (!items.some((item) => item.id === state[level]) && items.length > 0) {
      select(level).value = items[items.length - 1].id;
    }
    const unchanged = state[level] === select(level).value;
    state.choose(level, select(level).value);
    // An unchanged choice announces nothing, but the next level still needs its list and
    // its create button set, as on the first load of an empty console.
    if (unchanged && index + 1 < LEVELS.length) {
      await reload(index + 1);
    }
  }

  /** Adds the buttons that load, save and delete the chosen record of a level. */
  function addRecordControls(index) {
    const { level, path, fill, body } = LEVELS[index];
    const levelForm = form(level);
    const chosen = () => shown.get(level)?.find((item) => item.id === state[level]) ?? null;
    const edit = () => {
      clearFormErrors(levelForm);
      const record = chosen();
      if (record !== null) {
        fill(levelForm, record);
      }
    };
    const save = () =>
      runInForm(levelForm, async () => {
        if (state[level] === '') {
          return;
        }
        const saved = await put(path(state[level]), body(levelForm));
        await reload(index, saved.id);
        levelForm.reset();
      }, () => hasParent(index));
    const drop = () =>
      runInForm(levelForm, async () => {
        const record = chosen();
        if (record === null || !window.confirm(t('structure.confirm_delete'))) {
          return;
        }
        await remove(path(record.id));
        state.choose(level, '');
        await reload(index);
      }, () => hasParent(index));
    levelForm.append(
      element('div', { className: 'controls' }, [
        button('structure.edit', `edit-${level}`, edit),
        button('structure.save', `save-${level}`, save),
        button('structure.delete', `delete-${level}`, drop, 'button danger'),
      ]),
    );
  }

  LEVELS.forEach(({ level, create, body }, index) => {
    select(level).addEventListener('change', () => state.choose(level, select(level).value));
    if (index + 1 < LEVELS.length) {
      state.addEventListener(level, () => reload(index + 1));
    }
    onSubmit(form(level), async () => {
      const created = await post(create(state), body(form(level)));
      await reload(index, created.id);
      return true;
    });
    addRecordControls(index);
  });
  return () => reload(0);
}
