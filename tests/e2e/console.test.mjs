// The organiser console end to end: an organiser made with `profstage create-organiser`
// signs in, builds a contest down to a room, adds a participant, assigns them, creates
// their invite link, schedules a briefing and publishes a task. The participant, in a
// browser of their own, opens the link, lands on their personal page, opens and answers
// the task, and joins the briefing; the organiser then sees the task's opening and answer in
// the console. The organiser, not assigned to the participant's room, is told so on the
// expert page. The organiser then publishes the consent text for personal data in the
// console, and an applicant follows the nomination's link shown there and sends the form.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launchBrowser } from './support/browser.mjs';
import { fillApplication, localInput, submitForm, waitChosen } from './support/contest-pages.mjs';
import { clickTestId, waitInPage } from './support/pages.mjs';
import { runServerCommand } from './support/server.mjs';
import { Stage } from './support/stage.mjs';

const TEST_TIMEOUT_MS = 120_000;
const LOGIN = 'chief';
const PASSWORD = 'e2e organiser password 2027';
const PARTICIPANT = 'Алексеева Анна Андреевна';
const BRIEFING = 'Инструктаж участников';
const TASK = 'Сварка стыкового шва';
const APPLICANT = 'Лебедева Ирина Сергеевна';
const CONSENT = 'Я даю согласие на обработку моих персональных данных для участия в конкурсе.';

describe('organiser console, invite link and personal page', () => {
  let stage;
  let participantBrowser = null;
  let organiser = null;
  let inviteLink = null;
  let briefingRoom = null;

  before(async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'profstage-e2e-'));
    runServerCommand(['create-organiser', '--login', LOGIN, '--name', 'Главный Организатор'], {
      dataDir,
      input: `${PASSWORD}\n`,
    });
    stage = await Stage.open('console', { dataDir });
  });

  after(async () => {
    if (stage?.failed && participantBrowser) {
      await participantBrowser.saveArtifacts(fs.mkdtempSync(path.join(os.tmpdir(), 'console-')));
    }
    await participantBrowser?.close();
    await stage?.close();
  });

  it('organiser signs in and sets up a briefing', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      organiser = await stage.browser.openPage('organiser', `${stage.server.baseUrl}/signin.html`);
      const page = organiser.page;

      await submitForm(organiser, { login: LOGIN, password: 'not the password' }, 'signin');
      const wrong = page.getByTestId('form-error');
      await wrong.waitFor({ state: 'visible' });
      assert.match(await wrong.textContent(), /Неверный логин или пароль/);

      await submitForm(organiser, { login: LOGIN, password: PASSWORD }, 'signin');
      await page.waitForURL(/console\.html$/);
      await page.locator('#console').waitFor({ state: 'visible' });

      // Without a contest a stage cannot be created, and saving or deleting at that level
      // must not enable its create button again.
      const createStage = page.getByTestId('create-stage');
      assert.equal(await createStage.isDisabled(), true, 'no contest chosen');
      await clickTestId(organiser, 'save-stage');
      await clickTestId(organiser, 'delete-stage');
      await page.getByTestId('delete-stage').waitFor({ state: 'attached' });
      await waitInPage(organiser, 'the stage buttons to settle', () =>
        !document.querySelector('[data-testid="save-stage"]').disabled,
      );
      assert.equal(await createStage.isDisabled(), true, 'still no contest after save and delete');

      await submitForm(organiser, { 'contest-name': 'Лучший по профессии 2027' }, 'create-contest');
      await waitChosen(organiser, 'contest-select', 'Лучший по профессии 2027');

      // A stage without a region: the field's error appears next to it, in Russian.
      await submitForm(
        organiser,
        { 'stage-starts': localInput(24), 'stage-ends': localInput(48) },
        'create-stage',
      );
      const regionError = page.getByTestId('field-error-region');
      await regionError.waitFor({ state: 'visible' });
      assert.equal(await regionError.textContent(), 'Обязательное поле.');

      await submitForm(organiser, { 'stage-region': 'Тверская область' }, 'create-stage');
      await waitChosen(organiser, 'stage-select', 'Тверская область');
      assert.equal(await regionError.count(), 0, 'the field error is cleared');
      await submitForm(organiser, { 'nomination-profession': 'Сварщик' }, 'create-nomination');
      await waitChosen(organiser, 'nomination-select', 'Сварщик');
      await submitForm(
        organiser,
        { 'part-kind': 'practice', 'part-title': 'Практическое задание' },
        'create-part',
      );
      await waitChosen(organiser, 'part-select', 'Практическое задание');
      await submitForm(organiser, { 'room-title': 'Сварочный пост 1' }, 'create-room');
      await waitChosen(organiser, 'room-select', 'Сварочный пост 1');

      await submitForm(
        organiser,
        { 'person-role': 'participant', 'person-name': PARTICIPANT },
        'create-person',
      );
      const row = page.getByTestId('person-row').filter({ hasText: PARTICIPANT });
      await row.waitFor({ state: 'visible' });
      const participantId = await row.getAttribute('data-id');

      // A commission member needs the stage they oversee; the table shows it.
      await submitForm(
        organiser,
        { 'person-role': 'commission_member', 'person-name': 'Сидоров Сидор' },
        'create-person',
      );
      const stageError = page.getByTestId('field-error-stage_id');
      await stageError.waitFor({ state: 'visible' });
      assert.equal(
        await stageError.textContent(),
        'Выберите этап, за которым следит член комиссии.',
      );
      await page.getByTestId('person-stage').selectOption({ index: 1 });
      await clickTestId(organiser, 'create-person');
      const member = page.getByTestId('person-row').filter({ hasText: 'Сидоров Сидор' });
      await member.waitFor({ state: 'visible' });
      assert.match(await member.getByTestId('person-stage-cell').textContent(), /Тверская область/);

      // The assignment to a room of the stage makes them a participant of the stage.
      await submitForm(organiser, { 'assign-person': participantId }, 'assign');
      await page.getByTestId('assignment').filter({ hasText: PARTICIPANT }).waitFor();

      await row.getByTestId('show-invites').click();
      await clickTestId(organiser, 'create-invite');
      const linkInput = page.getByTestId('invite-link');
      await linkInput.waitFor({ state: 'visible' });
      inviteLink = await linkInput.inputValue();
      assert.match(inviteLink, /\/invite\.html#[0-9a-f]{64}$/);
      await page.getByTestId('invite').first().waitFor();
      await clickTestId(organiser, 'copy-invite');
      await waitInPage(organiser, 'the copy button to report', () =>
        Boolean(document.querySelector('[data-testid="copy-status"]')?.textContent),
      );

      // A second link, revoked at once: the list then shows one open and one revoked link.
      await clickTestId(organiser, 'create-invite');
      await page.getByTestId('invite').nth(1).waitFor();
      await page.getByTestId('revoke-invite').first().click();
      await page.getByTestId('invite').filter({ hasText: 'Отозвана' }).waitFor();
      assert.equal(await page.getByTestId('revoke-invite').count(), 1);

      await submitForm(
        organiser,
        {
          'briefing-title': BRIEFING,
          'briefing-starts': localInput(0.5),
          'briefing-agenda': 'Регламент этапа\nОтветы на вопросы',
        },
        'schedule-briefing',
      );
      const briefing = page.getByTestId('briefing').filter({ hasText: BRIEFING });
      await briefing.waitFor();
      briefingRoom = await briefing.getAttribute('data-room');
      assert.match(briefingRoom, /^[0-9a-f-]{36}$/);

      // A task of the chosen stage part, started three minutes ago: a draft first, then
      // published, after which it can no longer be changed.
      await submitForm(
        organiser,
        {
          'task-title': TASK,
          // A heading directly followed by its text, with no blank line between.
          'task-text': '# Задание\nСварите стыковой шов пластин.',
          'task-starts': localInput(-0.05),
          'task-limit': '30',
          'task-mode': 'common_start',
        },
        'save-task',
      );
      const task = page.getByTestId('task').filter({ hasText: TASK });
      await task.waitFor();
      assert.equal(await task.getByTestId('task-status').textContent(), 'черновик');
      await task.getByTestId('publish-task').click();
      await waitInPage(organiser, 'the task to be published', (title) =>
        [...document.querySelectorAll('[data-testid="task"]')].some(
          (item) =>
            item.textContent.includes(title) &&
            item.querySelector('[data-testid="task-status"]').textContent === 'началось',
        ), TASK);
      assert.equal(await task.getByTestId('edit-task').count(), 0, 'a started task is not editable');

      const briefingId = await briefing.getAttribute('data-id');
      await submitForm(organiser, { 'audit-target': briefingId }, 'audit-show');
      await page.getByTestId('audit-row').filter({ hasText: 'briefing.create' }).waitFor();
      assert.equal(await page.getByTestId('audit-row').count(), 1, 'the filter keeps one entry');
      const csvPath = await page.getByTestId('audit-csv').getAttribute('href');
      assert.equal(csvPath, `/api/v1/audit-log/csv?target_id=${briefingId}`);
      const csv = await page.request.get(`${stage.server.baseUrl}${csvPath}`);
      assert.equal(csv.status(), 200);
      const lines = (await csv.text()).trim().split('\r\n');
      assert.equal(lines.length, 2, 'a header and the one entry');
      assert.match(lines[1], /,briefing\.create,briefing,/);
    }),
  );

  it('invite link leads to the personal page and into the briefing', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (inviteLink === null || briefingRoom === null) {
        t.skip('the organiser did not finish setting up');
        return;
      }
      participantBrowser = await launchBrowser();
      const participant = await participantBrowser.openPage('participant', inviteLink);
      const page = participant.page;
      await page.waitForURL(/\/me\.html$/);
      const briefing = page.getByTestId('my-briefing').filter({ hasText: BRIEFING });
      await briefing.waitFor();
      assert.equal(await page.getByTestId('me-name').textContent(), PARTICIPANT);
      assert.match(await briefing.textContent(), /Регламент этапа/);
      const join = briefing.getByTestId('join-briefing');
      assert.equal(await join.getAttribute('href'), `briefing.html#room=${briefingRoom}`);
      const room = page.getByTestId('my-room').filter({ hasText: 'Сварочный пост 1' });
      await room.waitFor();
      const roomLink = await room.getByTestId('open-room').getAttribute('href');
      assert.match(roomLink, /^participant\.html#room=/);

      // The organiser is not assigned to the room, and the expert page names that cause.
      const roomFragment = roomLink.slice(roomLink.indexOf('#'));
      const unassigned = await stage.browser.openPage(
        'organiser-unassigned',
        `${stage.server.baseUrl}/expert.html${roomFragment}`,
      );
      await waitInPage(unassigned, 'the notice without a token', () => {
        const notice = document.getElementById('no-token');
        return !notice.hidden && notice.dataset.i18n !== 'token.missing';
      });
      const notice = await unassigned.page.locator('#no-token').textContent();
      assert.match(notice, /^Вы не назначены в эту комнату/, notice);
      assert.match(notice, /«Назначения в комнаты»/, `the notice says whom to ask: ${notice}`);
      await unassigned.page.close();

      const task = page.getByTestId('my-task').filter({ hasText: TASK });
      await task.waitFor();
      assert.match(await task.getByTestId('my-task-state').textContent(), /^ещё не открыто, ответы принимаются до/);
      await task.getByTestId('open-task').click();
      await page.waitForURL(/\/task\.html\?task=/);
      await waitInPage(participant, 'the task text', () =>
        /стыковой шов/.test(document.querySelector('[data-testid="task-text"]')?.textContent ?? ''),
      );
      const rendered = await page.getByTestId('task-text').evaluate((text) =>
        [...text.children].map((child) => `${child.tagName}:${child.textContent}`),
      );
      assert.deepEqual(rendered, ['H2:Задание', 'P:Сварите стыковой шов пластин.']);
      await page.getByTestId('answer').fill('Зачищаю кромки и прихватываю шов.');
      await page.getByTestId('save-answer').click();
      await waitInPage(participant, 'the answer saved', () =>
        /\d/.test(document.querySelector('[data-testid="answer-status"]').textContent),
      );
      await page.goBack();
      await page.waitForURL(/\/me\.html$/);

      // The organiser sees the opening, the first one, under the task.
      await organiser.page.getByTestId('task').filter({ hasText: TASK })
        .getByTestId('show-task-work').click();
      const opening = organiser.page.getByTestId('task-opening').filter({ hasText: PARTICIPANT });
      await opening.waitFor();
      assert.match(await opening.textContent(), /да$/);
      // The answer's kind is named in the page's language.
      const answer = organiser.page.getByTestId('task-submission').filter({ hasText: PARTICIPANT });
      assert.equal(await answer.locator('td').nth(1).textContent(), 'Текст');

      await join.click();
      await page.waitForURL(/\/briefing\.html#room=/);
      await waitInPage(participant, 'joining the briefing', () => window.profstage?.phase === 'joined');
      await page.getByTestId('raise-hand').waitFor({ state: 'visible' });
      await waitInPage(
        participant,
        'the status line to show a connection',
        () => document.querySelector('[data-testid="status"]')?.dataset.state === 'connected',
      );

      // The link worked once: opening it again signs nobody in.
      const again = await participantBrowser.openPage('participant-again', inviteLink);
      const status = again.page.getByTestId('invite-status');
      await again.page.waitForFunction(
        () => document.querySelector('[data-testid="invite-status"]')?.dataset.error,
      );
      assert.equal(await status.getAttribute('data-error'), 'invalid_invite');
    }),
  );

  it('console opens the application form', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (organiser === null) {
        t.skip('the organiser did not sign in');
        return;
      }
      const page = organiser.page;
      const current = page.getByTestId('consent-current');
      assert.equal(
        await current.textContent(),
        'Текст согласия ещё не опубликован, поэтому форма заявки не открывается.',
      );

      // The link of the chosen stage's nomination: absolute, with both ids.
      const item = page.getByTestId('application-link-item').filter({ hasText: 'Сварщик' });
      await item.waitFor();
      const link = await item.getByTestId('application-link').inputValue();
      const url = new URL(link);
      assert.equal(url.origin, new URL(stage.server.baseUrl).origin);
      assert.equal(url.pathname, '/apply.html');
      assert.equal(url.searchParams.get('stage'), await page.getByTestId('stage-select').inputValue());
      assert.equal(
        url.searchParams.get('nomination'),
        await page.getByTestId('nomination-select').inputValue(),
      );
      assert.equal(await item.getByTestId('open-application-link').getAttribute('href'), link);
      await item.getByTestId('copy-application-link').click();
      await waitInPage(organiser, 'the copy button to report', () =>
        Boolean(document.querySelector('[data-testid="application-link-item"] [role="status"]')
          ?.textContent),
      );

      // Without a consent text the form does not open.
      const early = await stage.browser.openPage('applicant-early', link);
      await waitInPage(early, 'the closed form', () =>
        !document.querySelector('[data-testid="error"]').hidden,
      );
      assert.equal(await early.page.getByTestId('application-form').isHidden(), true);
      await early.page.close();

      await submitForm(
        organiser,
        { 'consent-version': '2027-01', 'consent-body': CONSENT },
        'publish-consent',
      );
      await waitInPage(organiser, 'the published version', () =>
        /2027-01/.test(document.querySelector('[data-testid="consent-current"]').textContent),
      );
      assert.match(await current.textContent(), /^Действует версия 2027-01, опубликована \S/);
      assert.equal(await page.getByTestId('consent-current-body').textContent(), CONSENT);

      // A version is published once, and the form explains a repeat in Russian.
      await submitForm(
        organiser,
        { 'consent-version': '2027-01', 'consent-body': 'Другая редакция.' },
        'publish-consent',
      );
      const error = page.locator('#consent-form .form-error');
      await error.waitFor({ state: 'visible' });
      assert.equal(await error.textContent(), 'Такая версия согласия уже есть.');
      assert.equal(await page.getByTestId('consent-current-body').textContent(), CONSENT);

      const applicant = await stage.browser.openPage('applicant', link);
      const form = applicant.page;
      await waitInPage(applicant, 'the form loading', () =>
        !document.querySelector('[data-testid="application-form"]').hidden,
      );
      assert.equal(await form.getByTestId('consent-text').textContent(), CONSENT);
      assert.equal(await form.getByTestId('profession').textContent(), 'Сварщик');
      await fillApplication(form, APPLICANT, 'irina@example.org');
      await form.getByTestId('consent').check();
      await clickTestId(applicant, 'submit');
      await waitInPage(applicant, 'the receipt', () =>
        !document.querySelector('[data-testid="sent"]').hidden,
      );
      const statusLink = await form.getByTestId('status-link').getAttribute('href');
      assert.match(statusLink, /\/application-status\.html#[0-9a-f]{64}$/);
      await form.close();
    }),
  );

  it('organiser corrects and deletes records', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (organiser === null) {
        t.skip('the organiser did not sign in');
        return;
      }
      const page = organiser.page;
      page.on('dialog', (dialog) => dialog.accept());

      // A room added by mistake is renamed, then deleted.
      await submitForm(organiser, { 'room-title': 'Запасная комната' }, 'create-room');
      await waitChosen(organiser, 'room-select', 'Запасная комната');
      await clickTestId(organiser, 'edit-room');
      assert.equal(await page.getByTestId('room-title').inputValue(), 'Запасная комната');
      await page.getByTestId('room-title').fill('Резервный пост');
      await clickTestId(organiser, 'save-room');
      await waitChosen(organiser, 'room-select', 'Резервный пост');
      await clickTestId(organiser, 'delete-room');
      await waitInPage(organiser, 'the deleted room to leave the list', () =>
        [...document.querySelectorAll('#room-select option')].every(
          (option) => !option.textContent.includes('Резервный пост'),
        ),
      );

      // A contest with stages is not deleted, and the form explains why in Russian.
      await clickTestId(organiser, 'delete-contest');
      const error = page.locator('#contest-form .form-error');
      await error.waitFor({ state: 'visible' });
      assert.equal(await error.textContent(), 'У конкурса ещё есть этапы: сначала удалите их.');
      await waitChosen(organiser, 'contest-select', 'Лучший по профессии 2027');
      assert.equal(
        await page.getByTestId('create-stage').isDisabled(),
        false,
        'a contest is chosen, so a stage can be created after the failed delete',
      );

      // A person entered with a typo is corrected, then removed.
      await submitForm(
        organiser,
        { 'person-role': 'expert', 'person-name': 'Ошибочная Запись' },
        'create-person',
      );
      const row = page.getByTestId('person-row').filter({ hasText: 'Ошибочная Запись' });
      await row.getByTestId('edit-person').click();
      await page.getByTestId('person-name').fill('Исправленная Запись');
      await clickTestId(organiser, 'save-person');
      const fixed = page.getByTestId('person-row').filter({ hasText: 'Исправленная Запись' });
      await fixed.waitFor();
      await fixed.getByTestId('delete-person').click();
      await fixed.waitFor({ state: 'detached' });
    }),
  );

  it('server log holds no personal data or secrets', () =>
    stage.step(async () => {
      const log = fs.readFileSync(stage.server.logPath, 'utf8');
      assert.match(log, /scheduled a briefing/, 'the log is the server log');
      for (const secret of [PARTICIPANT, APPLICANT, PASSWORD, inviteLink.split('#')[1]]) {
        assert.ok(!log.includes(secret), `the server log contains "${secret}"`);
      }
    }),
  );
});
