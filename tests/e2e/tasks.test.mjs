// A participant's task page with a wrong computer clock. The organiser publishes tasks whose
// limit runs from the first opening; the participant, signed in from an invite link, opens
// each in Chromium with the page's Date moved 5 minutes ahead or behind. The countdown still
// shows the server's remaining time, the page closes at the server's deadline, and the
// server then rejects an answer. A task whose latest first opening has passed shows as
// closed on the personal page and does not open. An upload of the wrong kind is rejected
// with a translated message.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { acceptInvite, createOrganiser, organiserCalls } from './support/contest.mjs';
import { waitInPage } from './support/pages.mjs';
import { Stage } from './support/stage.mjs';

const TEST_TIMEOUT_MS = 120_000;
const LOGIN = 'chief';
const PASSWORD = 'organiser password for e2e';
const LIMIT_SECS = 8;
const FIVE_MINUTES_MS = 5 * 60 * 1000;
/** How far the page's countdown may be from the server's remaining time. */
const TOLERANCE_MS = 1500;
const TEXT = '# Порядок работы\n\nОпишите сварку шва.\n\n- подготовка\n- сварка\n\n<script>window.injected = true</script>';

/** Replaces the page's Date with one that runs `skewMs` ahead of the real clock. */
function skewedDateScript(skewMs) {
  return `(() => {
    const RealDate = Date;
    const skew = ${skewMs};
    class SkewedDate extends RealDate {
      constructor(...args) {
        if (args.length === 0) {
          super(RealDate.now() + skew);
        } else {
          super(...args);
        }
      }
      static now() {
        return RealDate.now() + skew;
      }
    }
    globalThis.Date = SkewedDate;
  })();`;
}

describe('task page with a skewed computer clock', () => {
  let stage;
  let call;
  let part;

  before(async () => {
    stage = await Stage.open('tasks');
    await createOrganiser(stage.server, LOGIN, PASSWORD);
    const baseUrl = stage.server.baseUrl;
    call = await organiserCalls(baseUrl, LOGIN, PASSWORD);
    const contest = await call('POST', '/api/v1/contests', { name: 'Лучший по профессии 2027' }, 201);
    const regional = await call('POST', `/api/v1/contests/${contest.id}/stages`, {
      region: 'Тверская область',
      starts_at: Date.UTC(2027, 3, 1),
      ends_at: Date.UTC(2027, 3, 2),
    }, 201);
    const nomination = await call('POST', `/api/v1/stages/${regional.id}/nominations`, {
      profession: 'Сварщик',
    }, 201);
    part = await call('POST', `/api/v1/nominations/${nomination.id}/parts`, {
      kind: 'theory',
      title: 'Теория',
    }, 201);
    const room = await call('POST', `/api/v1/parts/${part.id}/rooms`, { title: 'Комната 1' }, 201);
    const person = await call('POST', '/api/v1/people', {
      role: 'participant',
      full_name: 'Иванова Мария Петровна',
    }, 201);
    await call('PUT', `/api/v1/rooms/${room.id}/assignments/${person.id}`, undefined, 201);
    const invite = await call('POST', `/api/v1/people/${person.id}/invites`, {}, 201);
    const session = await acceptInvite(baseUrl, invite.token);
    await stage.browser.context.addCookies([
      { name: 'profstage_session', value: session, url: baseUrl },
    ]);
  });

  after(async () => {
    await stage?.close();
  });

  /** Publishes a task started a second ago; `times` may replace its start and add opens_until. */
  async function publishTask(title, times = {}) {
    const task = await call('POST', `/api/v1/parts/${part.id}/tasks`, {
      title,
      text: TEXT,
      starts_at: Date.now() - 1000,
      time_limit_secs: LIMIT_SECS,
      limit_mode: 'first_opening',
      ...times,
    }, 201);
    await call('POST', `/api/v1/tasks/${task.id}/publish`, undefined, 200);
    return task.id;
  }

  for (const [label, skewMs] of [
    ['ahead', FIVE_MINUTES_MS],
    ['behind', -FIVE_MINUTES_MS],
  ]) {
    it(`counts down on the server clock with the page's clock 5 minutes ${label}`,
      { timeout: TEST_TIMEOUT_MS },
      () =>
        stage.step(async () => {
          const id = await publishTask(`Задание (${label})`);
          const url = `${stage.server.baseUrl}/task.html?task=${id}`;
          const participant = await stage.browser.openPage(`participant-${label}`, url, {
            initScript: skewedDateScript(skewMs),
          });
          const page = participant.page;
          await waitInPage(participant, 'the countdown', () => {
            const value = document.querySelector('[data-testid="remaining"]');
            return value?.dataset.remainingMs !== undefined;
          });

          const pageSkew = (await page.evaluate(() => Date.now())) - Date.now();
          assert.ok(Math.abs(pageSkew - skewMs) < TOLERANCE_MS, `page clock skew ${pageSkew}`);

          const mine = await page.evaluate(async () => {
            const reply = await fetch('/api/v1/me/tasks', { cache: 'no-store' });
            return reply.json();
          });
          const task = mine.items.find((item) => item.id === id);
          assert.equal(task.state, 'open');
          const deadline = task.deadline;
          assert.equal(deadline, task.first_opened_at + LIMIT_SECS * 1000);

          const shown = Number(
            await page.getByTestId('remaining').getAttribute('data-remaining-ms'),
          );
          const expected = deadline - Date.now();
          assert.ok(
            Math.abs(shown - expected) < TOLERANCE_MS,
            `countdown ${shown} ms, server's remaining time ${expected} ms`,
          );
          assert.equal(await page.evaluate(() => document.body.dataset.taskState), 'open');

          // The task's text is rendered as text: its <script> line shows and never runs.
          const text = await page.getByTestId('task-text').textContent();
          assert.match(text, /Опишите сварку шва/);
          assert.match(text, /<script>/);
          assert.equal(await page.evaluate(() => window.injected), undefined);

          await page.getByTestId('answer').fill('Сначала зачищаю кромки.');
          await page.getByTestId('save-answer').click();
          await waitInPage(participant, 'the answer saved', () =>
            /\d/.test(document.querySelector('[data-testid="answer-status"]').textContent),
          );

          // A file of another kind is rejected with the field's message in Russian.
          await page.getByTestId('files').setInputFiles({
            name: 'ответ.txt',
            mimeType: 'text/plain',
            buffer: Buffer.from('не PDF'),
          });
          await waitInPage(participant, 'the rejected upload', () => {
            const banner = document.querySelector('[data-testid="error"]');
            return !banner.hidden;
          });
          const rejected = await participant.errorBanner();
          assert.match(rejected, /Нужен файл PDF, JPEG или PNG/, rejected);

          await waitInPage(
            participant,
            'the closed state',
            () => document.body.dataset.taskState === 'closed',
            undefined,
            (LIMIT_SECS + 5) * 1000,
          );
          const closedAt = Date.now();
          assert.ok(closedAt >= deadline - 300, `closed ${deadline - closedAt} ms early`);
          assert.ok(closedAt <= deadline + TOLERANCE_MS, `closed ${closedAt - deadline} ms late`);
          assert.equal(await page.getByTestId('closed').isVisible(), true);
          assert.equal(await page.getByTestId('save-answer').isDisabled(), true);

          const late = await page.evaluate(async (taskId) => {
            const me = await (await fetch('/api/v1/me')).json();
            const reply = await fetch(`/api/v1/tasks/${taskId}/answer`, {
              method: 'PUT',
              headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token },
              body: JSON.stringify({ text: 'поздно' }),
            });
            return { status: reply.status, body: await reply.json() };
          }, id);
          assert.equal(late.status, 409);
          assert.equal(late.body.error.code, 'time_up');

          const submissions = await call('GET', `/api/v1/tasks/${id}/submissions`, undefined, 200);
          assert.equal(submissions.items.length, 1);
          assert.equal(submissions.items[0].kind, 'text');
        }),
    );
  }

  it('explains a task whose time to start has passed', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const title = 'Задание (опоздание)';
      const startsAt = Date.now() - 2000;
      const id = await publishTask(title, { starts_at: startsAt, opens_until: startsAt + 1000 });
      const url = `${stage.server.baseUrl}/me.html`;
      const participant = await stage.browser.openPage('participant-late', url);
      const item = participant.page.getByTestId('my-task').filter({ hasText: title });
      await item.waitFor();
      assert.equal(
        await item.getByTestId('my-task-state').textContent(),
        'закрыто: время, чтобы начать это задание, прошло',
      );
      assert.equal(await item.getByTestId('open-task').count(), 0);

      await participant.page.goto(`${stage.server.baseUrl}/task.html?task=${id}`);
      await waitInPage(participant, 'the error banner', () =>
        !document.querySelector('[data-testid="error"]').hidden);
      assert.match(await participant.errorBanner(), /Время, чтобы начать это задание, прошло/);
      assert.equal(await participant.page.locator('#task').isHidden(), true);
      const openings = await call('GET', `/api/v1/tasks/${id}/openings`, undefined, 200);
      assert.deepEqual(openings.items, []);
    }),
  );
});
