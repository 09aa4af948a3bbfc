// The console's tasks section for the stage part chosen in the structure section. A form
// creates a draft or changes one before its start. Each task gets a PDF upload, a publish
// button and a view of its openings and submissions, reads that the server audits.

import { listAll, post, request, sendFile } from './contest-api.js';
import { button, element } from './dom.js';
import { onSubmit } from './form-errors.js';
import { setText } from './i18n.js';
import { formatTime, fromLocalInput, toLocalInput } from './time-format.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

/** Returns the task's state for the list: draft, published and waiting, or started. */
function taskStatusKey(task, now) {
  if (task.published_at === null) {
    return 'tasks.draft';
  }
  return task.starts_at > now ? 'tasks.published' : 'tasks.started';
}

/** Wires the tasks section to `state` and returns the function that loads it. */
export function initTasks(state, report) {
  const form = document.getElementById('task-form');
  const submit = byTestId('save-task');
  const stopEditing = byTestId('cancel-task-edit');
  let editing = null; // the draft the form changes, or null to create a new one

  /** Shows the latest first opening only where the server accepts it. */
  function showOpensUntil() {
    const firstOpening = form.elements.limit_mode.value === 'first_opening';
    byTestId('task-opens-until-field').hidden = !firstOpening;
  }

  function edit(task) {
    editing = task;
    form.elements.title.value = task?.title ?? '';
    form.elements.text.value = task?.text ?? '';
    form.elements.starts_at.value = task ? toLocalInput(task.starts_at) : '';
    form.elements.time_limit_minutes.value = task ? String(task.time_limit_secs / 60) : '';
    form.elements.limit_mode.value = task?.limit_mode ?? 'common_start';
    const opensUntil = task?.opens_until ?? null;
    form.elements.opens_until.value = opensUntil === null ? '' : toLocalInput(opensUntil);
    showOpensUntil();
    setText(submit, task ? 'tasks.save' : 'tasks.create');
    stopEditing.hidden = task === null;
  }

  function pdfInput(task) {
    const input = element('input', {
      testid: 'task-pdf',
      attrs: { type: 'file', accept: 'application/pdf' },
    });
    input.addEventListener('change', async () => {
      const [file] = input.files;
      if (!file) {
        return;
      }
      try {
        await sendFile('PUT', `/tasks/${task.id}/pdf`, file);
      } catch (error) {
        report(error);
      }
      await reload();
    });
    return element('label', { className: 'button file-button' }, [
      element('span', { key: task.pdf_size === null ? 'tasks.add_pdf' : 'tasks.replace_pdf' }),
      input,
    ]);
  }

  function renderTask(task, now) {
    const started = task.published_at !== null && task.starts_at <= now;
    const minutes = Math.round(task.time_limit_secs / 60);
    const opensUntil = task.opens_until === null ? [] : [
      element('span', {
        key: 'tasks.opens_until_at',
        vars: { time: formatTime(task.opens_until) },
        testid: 'task-opens-until-at',
      }),
      ' · ',
    ];
    const item = element('li', {
      className: 'item',
      testid: 'task',
      attrs: { 'data-id': task.id },
    }, [
      element('strong', { text: task.title }),
      ' ',
      element('span', { className: 'muted', text: formatTime(task.starts_at) }),
      ' · ',
      element('span', {
        key: `tasks.limit_${task.limit_mode}`,
        vars: { minutes },
      }),
      ' · ',
      ...opensUntil,
      element('span', { key: taskStatusKey(task, now), testid: 'task-status' }),
    ]);
    if (task.pdf_size !== null) {
      item.append(' ', element('a', {
        key: 'tasks.pdf',
        attrs: { href: `/api/v1/tasks/${encodeURIComponent(task.id)}/pdf`, target: '_blank' },
      }));
    }
    const controls = element('div', { className: 'controls' });
    if (!started) {
      controls.append(button('tasks.edit', 'edit-task', () => edit(task)), pdfInput(task));
    }
    if (task.published_at === null) {
      controls.append(button('tasks.publish', 'publish-task', () => publish(task), 'button primary'));
    }
    controls.append(button('tasks.show_work', 'show-task-work', () => showWork(task)));
    item.append(controls);
    return item;
  }

  async function reload() {
    const part = state.part;
    submit.disabled = part === '';
    const name = document.getElementById('part-select').selectedOptions[0]?.textContent;
    setText(byTestId('tasks-part'), part === '' ? 'tasks.no_part' : 'tasks.of', {
      part: name ?? '',
    });
    byTestId('task-work').hidden = true;
    if (part === '') {
      byTestId('task-list').replaceChildren();
      return;
    }
    let list = [];
    try {
      list = await listAll(`/parts/${part}/tasks`);
    } catch (error) {
      report(error);
    }
    const now = Date.now();
    byTestId('task-list').replaceChildren(...list.map((task) => renderTask(task, now)));
  }

  async function publish(task) {
    try {
      await post(`/tasks/${task.id}/publish`);
    } catch (error) {
      report(error);
    }
    await reload();
  }

  async function showWork(task) {
    let openings;
    let submissions;
    try {
      [openings, submissions] = await Promise.all([
        listAll(`/tasks/${task.id}/openings`),
        listAll(`/tasks/${task.id}/submissions`),
      ]);
    } catch (error) {
      report(error);
      return;
    }
    const names = new Map(openings.map((opening) => [opening.person_id, opening.full_name]));
    setText(byTestId('task-work-heading'), 'tasks.work_of', { title: task.title });
    byTestId('task-openings').replaceChildren(...openings.map((opening) =>
      element('tr', { testid: 'task-opening' }, [
        element('td', { text: opening.full_name }),
        element('td', { text: formatTime(opening.opened_at) }),
        element('td', { key: opening.first ? 'tasks.yes' : 'tasks.no' }),
      ])));
    byTestId('task-submissions').replaceChildren(...submissions.map((submission) =>
      element('tr', { testid: 'task-submission' }, [
        element('td', { text: names.get(submission.person_id) ?? submission.person_id }),
        element('td', {}, [element('a', {
          key: `tasks.submission_kind.${submission.kind}`,
          attrs: {
            href: `/api/v1/task-submissions/${encodeURIComponent(submission.id)}`,
            target: '_blank',
          },
        })]),
        element('td', { text: String(submission.size) }),
        element('td', { text: formatTime(submission.submitted_at) }),
      ])));
    byTestId('task-work').hidden = false;
  }

  onSubmit(form, async () => {
    const minutes = Number(form.elements.time_limit_minutes.value);
    const body = {
      title: form.elements.title.value,
      text: form.elements.text.value,
      starts_at: fromLocalInput(form.elements.starts_at.value),
      time_limit_secs: Number.isFinite(minutes) ? Math.round(minutes * 60) : null,
      limit_mode: form.elements.limit_mode.value,
      opens_until: null,
    };
    if (body.limit_mode === 'first_opening') {
      body.opens_until = fromLocalInput(form.elements.opens_until.value);
    }
    if (editing === null) {
      await post(`/parts/${state.part}/tasks`, body);
    } else {
      await request('PUT', `/tasks/${editing.id}`, body);
    }
    edit(null);
    await reload();
    return true;
  });
  form.elements.limit_mode.addEventListener('change', showOpensUntil);
  stopEditing.addEventListener('click', () => edit(null));
  state.addEventListener('part', () => {
    edit(null);
    reload();
  });
  return reload;
}
