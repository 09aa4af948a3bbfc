// The console's structure section: contests, their stages, nominations, stage parts and
// rooms, as five lists that each narrow the next, with a form to add to each.

import { listAll, post } from './contest-api.js';
import { fillSelect } from './dom.js';
import { onSubmit } from './form-errors.js';
import { t } from './i18n.js';
import { formatTime, fromLocalInput } from './time-format.js';

const LEVELS = [
  {
    level: 'contest',
    list: () => '/contests',
    create: () => '/contests',
    label: (contest) => contest.name,
    body: (form) => ({ name: form.elements.name.value, description: form.elements.description.value }),
  },
  {
    level: 'stage',
    list: (state) => `/contests/${state.contest}/stages`,
    create: (state) => `/contests/${state.contest}/stages`,
    label: (stage) => `${stage.region}, ${formatTime(stage.starts_at)}`,
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
    label: (nomination) => nomination.profession,
    body: (form) => ({ profession: form.elements.profession.value }),
  },
  {
    level: 'part',
    list: (state) => `/nominations/${state.nomination}/parts`,
    create: (state) => `/nominations/${state.nomination}/parts`,
    label: (part) => `${part.title} (${t(`structure.${part.kind}`)})`,
    body: (form) => ({ kind: form.elements.kind.value, title: form.elements.title.value }),
  },
  {
    level: 'room',
    list: (state) => `/parts/${state.part}/rooms`,
    create: (state) => `/parts/${state.part}/rooms`,
    label: (room) => room.title,
    body: (form) => ({ title: form.elements.title.value }),
  },
];

/** Wires the structure section to `state`; `report` shows errors outside the forms. */
export function initStructure(state, report) {
  const parentOf = (index) => (index === 0 ? null : LEVELS[index - 1].level);
  const select = (level) => document.getElementById(`${level}-select`);
  const form = (level) => document.getElementById(`${level}-form`);

  async function reload(index, chosen = null) {
    const { level, list, label } = LEVELS[index];
    const parent = parentOf(index);
    const disabled = parent !== null && state[parent] === '';
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
    fillSelect(select(level), items, (item) => item.id, label, 'structure.none');
    if (chosen !== null) {
      select(level).value = chosen;
    } else if (!items.some((item) => item.id === state[level]) && items.length > 0) {
      select(level).value = items[items.length - 1].id;
    }
    state.choose(level, select(level).value);
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
  });
  return () => reload(0);
}
