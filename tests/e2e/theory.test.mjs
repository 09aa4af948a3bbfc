// The theory stage end to end in Chromium with the fake camera. The organiser sets up a
// theory test over the API with a question bank imported as JSON. The participant, signed
// in from an invite link, opens the test from their personal page, takes an identity
// snapshot with the camera, sends it, answers every question and hands the test in. An
// expert's page shows the snapshot, and the organiser sees the score in the console. The
// organiser then adds, edits and deletes a bank question in the console, which rejects the
// edit of a question the participant drew. A bad bank file and a question with too many
// points show translated errors with their line numbers and limits, in Russian and in
// English. An expert of the nomination reaches the identity check from the scoring page.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchBrowser } from './support/browser.mjs';
import { acceptInvite, createOrganiser, organiserCalls } from './support/contest.mjs';
import { clickTestId, waitInPage } from './support/pages.mjs';
import { Stage } from './support/stage.mjs';

const TEST_TIMEOUT_MS = 120_000;
const LOGIN = 'chief';
const PASSWORD = 'organiser password for e2e';
const PARTICIPANT = 'Сергеев Олег Игоревич';
const TITLE = 'Теоретический тур';

/** Single (2 points), multiple (2 points) and short answer (2 points) questions. */
const QUESTIONS = [
  {
    kind: 'single',
    text: 'Какой ток используют при сварке MMA?',
    options: ['Переменный', 'Постоянный', 'Никакой'],
    correct: [2],
    points: 2,
  },
  {
    kind: 'multiple',
    text: 'Что входит в СИЗ сварщика?',
    options: ['Маска', 'Сандалии', 'Краги'],
    correct: [1, 3],
    points: 2,
  },
  { kind: 'short', text: 'Какой газ защищает шов при TIG-сварке?', accepted: ['Аргон'], points: 2 },
];
/**
 * A bank file with a good line and four bad ones: an option that does not exist, an unknown
 * kind, points out of range and an option longer than 1000 characters.
 */
const BAD_BANK_CSV = [
  'kind;text;points;options;correct;accepted',
  'single;Хороший вопрос;1;Да|Нет;1;',
  'single;Плохой вопрос;1;Да|Нет;3;',
  'essay;Эссе;1;;;',
  'single;Дорогой вопрос;500;Да|Нет;1;',
  `single;Длинный вариант;1;Да|${'н'.repeat(1001)};1;`,
].join('\n');
/** What the console shows for BAD_BANK_CSV and for a question of 500 points: Russian, English. */
const TRANSLATED_ERRORS = [
  {
    summary: 'Проверьте отмеченные поля.',
    lines: [
      'Строка 3, correct: Такого варианта нет.',
      'Строка 4, kind: Укажите single, multiple или short.',
      'Строка 5, points: Допустимо от 1 до 100.',
      'Строка 6, options, пункт 2: Не длиннее 1000 символов.',
    ],
    points: 'Допустимо от 1 до 100.',
  },
  {
    summary: 'Check the marked fields.',
    lines: [
      'Line 3, correct: No such option.',
      'Line 4, kind: Write single, multiple or short.',
      'Line 5, points: Must be from 1 to 100.',
      'Line 6, options, entry 2: At most 1000 characters.',
    ],
    points: 'Must be from 1 to 100.',
  },
];
/** What the participant picks: the single right, one of two right, and a short answer. */
const PICKS = {
  'Какой ток используют при сварке MMA?': ['Постоянный'],
  'Что входит в СИЗ сварщика?': ['Маска'],
};
const SHORT_ANSWER = '  аргон ';
/** 2 + 1 + 2 of 6 points. */
const EXPECTED_SCORE = '5.00 / 6.00';

describe('theory test with an identity snapshot', () => {
  let stage;
  let participantBrowser;
  let call;
  let testId;
  let nominationId;
  let partId;
  let expertSession;

  before(async () => {
    stage = await Stage.open('theory');
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
    const part = await call('POST', `/api/v1/nominations/${nomination.id}/parts`, {
      kind: 'theory',
      title: 'Теория',
    }, 201);
    const room = await call('POST', `/api/v1/parts/${part.id}/rooms`, { title: 'Аудитория' }, 201);
    const person = await call('POST', '/api/v1/people', {
      role: 'participant',
      full_name: PARTICIPANT,
    }, 201);
    await call('PUT', `/api/v1/rooms/${room.id}/assignments/${person.id}`, undefined, 201);

    nominationId = nomination.id;
    partId = part.id;
    const path = `/api/v1/nominations/${nomination.id}/theory-questions/import?format=json`;
    const imported = await call('POST', path, { questions: QUESTIONS }, 201);
    assert.equal(imported.imported, QUESTIONS.length);
    const test = await call('POST', `/api/v1/parts/${part.id}/theory-tests`, {
      title: TITLE,
      text: 'Ответьте на все вопросы.',
      starts_at: Date.now() - 1000,
      time_limit_secs: 600,
      limit_mode: 'first_opening',
    }, 201);
    testId = test.id;
    await call('POST', `/api/v1/tasks/${testId}/publish`, undefined, 200);

    const expert = await call('POST', '/api/v1/people', {
      role: 'expert',
      full_name: 'Кузнецов Пётр Андреевич',
    }, 201);
    await call('POST', `/api/v1/nominations/${nomination.id}/expert-groups`, {
      name: 'Эксперты теории',
      chair_id: expert.id,
      member_ids: [],
    }, 201);
    const expertInvite = await call('POST', `/api/v1/people/${expert.id}/invites`, {}, 201);
    expertSession = await acceptInvite(baseUrl, expertInvite.token);

    const invite = await call('POST', `/api/v1/people/${person.id}/invites`, {}, 201);
    const session = await acceptInvite(baseUrl, invite.token);
    participantBrowser = await launchBrowser();
    await participantBrowser.context.addCookies([
      { name: 'profstage_session', value: session, url: baseUrl },
    ]);
  });

  after(async () => {
    if (stage?.failed && participantBrowser) {
      await participantBrowser.saveArtifacts(stage.server.dataDir);
    }
    await participantBrowser?.close();
    await stage?.close();
  });

  it('participant sends a snapshot and answers; organiser sees the score',
    { timeout: TEST_TIMEOUT_MS },
    () =>
      stage.step(async () => {
        const baseUrl = stage.server.baseUrl;
        const participant = await participantBrowser.openPage('participant', `${baseUrl}/me.html`);
        const page = participant.page;
        await page.getByTestId('open-theory-test').click();
        await page.waitForURL(/theory\.html\?test=/);
        await page.getByTestId('intro').waitFor({ state: 'visible' });
        assert.equal(await page.getByTestId('start-test').isDisabled(), true);

        await clickTestId(participant, 'camera-on');
        await waitInPage(participant, 'the camera picture', () => {
          const video = document.querySelector('[data-testid="camera"]');
          return video.videoWidth > 0 && !video.paused;
        });
        await clickTestId(participant, 'take-snapshot');
        await page.getByTestId('snapshot-preview').waitFor({ state: 'visible' });
        await clickTestId(participant, 'send-snapshot');
        await waitInPage(participant, 'the snapshot pending', () =>
          document.querySelector('[data-testid="identity-status"]').dataset.status === 'pending',
        );

        await clickTestId(participant, 'start-test');
        await page.getByTestId('question').first().waitFor({ state: 'visible' });
        assert.equal(await page.getByTestId('question').count(), QUESTIONS.length);
        for (const [text, picks] of Object.entries(PICKS)) {
          const question = page.getByTestId('question').filter({ hasText: text });
          for (const pick of picks) {
            await question.locator('label').filter({ hasText: pick }).locator('input').check();
          }
        }
        const short = page.getByTestId('short-answer');
        await short.fill(SHORT_ANSWER);
        await short.press('Tab');
        await waitInPage(participant, 'three saved answers', () => {
          const status = document.querySelector('[data-testid="save-status"]');
          return Number(status.dataset.saved ?? '0') >= 3;
        });

        // A reload shows the same questions in the same order, with the answers kept.
        const order = await page.getByTestId('question').evaluateAll((items) =>
          items.map((item) => item.dataset.id),
        );
        await page.reload();
        await page.getByTestId('question').first().waitFor({ state: 'visible' });
        const again = await page.getByTestId('question').evaluateAll((items) =>
          items.map((item) => item.dataset.id),
        );
        assert.deepEqual(again, order);
        assert.equal(await page.getByTestId('short-answer').inputValue(), 'аргон');

        await clickTestId(participant, 'finish');
        await waitInPage(participant, 'the handed-in state', () =>
          document.body.dataset.testState === 'closed',
        );
        assert.equal(await page.getByTestId('short-answer').isDisabled(), true);

        // The snapshot is a JPEG from the camera, stored with its size.
        const checks = await call('GET', `/api/v1/theory-tests/${testId}/identity-checks`, undefined, 200);
        assert.equal(checks.length, 1);
        assert.ok(checks[0].size > 1000, `snapshot of ${checks[0].size} bytes`);

        const organiser = await stage.browser.openPage('organiser', `${baseUrl}/signin.html`);
        const console_ = organiser.page;
        await console_.getByTestId('login').fill(LOGIN);
        await console_.getByTestId('password').fill(PASSWORD);
        await clickTestId(organiser, 'signin');
        await console_.waitForURL(/console\.html$/);
        const test = console_.getByTestId('theory-test').filter({ hasText: TITLE });
        await test.waitFor({ state: 'visible' });
        await test.getByTestId('show-results').click();
        const row = console_.getByTestId('result-row').filter({ hasText: PARTICIPANT });
        await row.waitFor({ state: 'visible' });
        assert.equal(await row.getByTestId('result-score').textContent(), EXPECTED_SCORE);

        const identity = await stage.browser.openPage(
          'identity',
          `${baseUrl}/identity.html?test=${testId}`,
        );
        await waitInPage(identity, 'the snapshot image', () => {
          const image = document.querySelector('[data-testid="check-image"]');
          return image?.complete && image.naturalWidth > 0;
        });
        await clickTestId(identity, 'confirm');
        await waitInPage(identity, 'the confirmed status', () =>
          document.querySelector('[data-testid="check"]')?.dataset.status === 'confirmed',
        );
      }),
  );

  it('organiser adds, edits and deletes bank questions', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const bankPath = `/api/v1/nominations/${nominationId}/theory-questions`;
      const organiser = await stage.browser.openPage('bank', `${stage.server.baseUrl}/console.html`);
      const page = organiser.page;
      page.on('dialog', (dialog) => dialog.accept());
      const questions = page.getByTestId('bank-question');
      await waitInPage(organiser, 'the bank of three questions', () =>
        document.querySelectorAll('[data-testid="bank-question"]').length === 3);

      // A correct option that does not exist is named under its input.
      await page.getByTestId('question-kind').selectOption('multiple');
      await page.getByTestId('question-text').fill('Какие электроды плавятся?');
      await page.getByTestId('question-options').fill('Покрытые\nВольфрамовые\nПроволока');
      await page.getByTestId('question-correct').fill('1, 4');
      await page.getByTestId('question-points').fill('2');
      await clickTestId(organiser, 'save-question');
      await page.getByTestId('field-error-correct').waitFor();
      await page.getByTestId('question-correct').fill('1, 3');
      await clickTestId(organiser, 'save-question');
      await waitInPage(organiser, 'the added question', () =>
        document.querySelectorAll('[data-testid="bank-question"]').length === 4);
      let bank = await call('GET', bankPath, undefined, 200);
      assert.deepEqual(bank[3].options, ['Покрытые', 'Вольфрамовые', 'Проволока']);
      assert.deepEqual(bank[3].correct, [1, 3]);

      // The new question becomes a short answer.
      const added = questions.filter({ hasText: 'Какие электроды плавятся?' });
      await added.getByTestId('edit-question').click();
      assert.equal(await page.getByTestId('question-options').inputValue(), 'Покрытые\nВольфрамовые\nПроволока');
      await page.getByTestId('question-kind').selectOption('short');
      await page.getByTestId('question-text').fill('Какой электрод не плавится?');
      await page.getByTestId('question-accepted').fill('Вольфрамовый\nвольфрам');
      await clickTestId(organiser, 'save-question');
      await questions.filter({ hasText: 'Какой электрод не плавится?' }).waitFor();
      bank = await call('GET', bankPath, undefined, 200);
      assert.equal(bank[3].kind, 'short');
      assert.deepEqual(bank[3].accepted, ['Вольфрамовый', 'вольфрам']);
      assert.deepEqual(bank[3].options, []);

      // A question the participant drew stays as it was.
      await questions.first().getByTestId('edit-question').click();
      await page.getByTestId('question-points').fill('5');
      await clickTestId(organiser, 'save-question');
      const formError = page.getByTestId('question-form').locator('.form-error');
      await formError.waitFor({ state: 'visible' });
      // The console translates the server's reason into the page's language, Russian here.
      assert.match(await formError.textContent(), /Вопрос уже выпадал участникам/);
      bank = await call('GET', bankPath, undefined, 200);
      assert.equal(bank[0].points, QUESTIONS[0].points);
      await clickTestId(organiser, 'cancel-question-edit');

      // The unused question is deleted.
      await questions.filter({ hasText: 'Какой электрод не плавится?' })
        .getByTestId('delete-question').click();
      await waitInPage(organiser, 'the deleted question', () =>
        document.querySelectorAll('[data-testid="bank-question"]').length === 3);
      bank = await call('GET', bankPath, undefined, 200);
      assert.equal(bank.length, 3);
      assert.equal(await organiser.errorBanner(), null);
    }));

  it('console translates import line errors and range limits', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const bankPath = `/api/v1/nominations/${nominationId}/theory-questions`;
      const organiser = await stage.browser.openPage('errors', `${stage.server.baseUrl}/console.html`);
      const page = organiser.page;
      await waitInPage(organiser, 'the bank of three questions', () =>
        document.querySelectorAll('[data-testid="bank-question"]').length === 3);

      // Each problem of the file gets a line of its own, with its line number and column.
      const bankForm = page.getByTestId('bank-import-form');
      const importBadFile = async () => {
        await page.getByTestId('bank-file').setInputFiles({
          name: 'questions.csv',
          mimeType: 'text/csv',
          buffer: Buffer.from(BAD_BANK_CSV),
        });
        await page.getByTestId('bank-format').selectOption('csv');
        await clickTestId(organiser, 'bank-import');
        await bankForm.locator('.form-error').waitFor({ state: 'visible' });
        return {
          summary: await bankForm.locator('.form-error').evaluate((p) => p.firstChild.textContent),
          lines: await bankForm.getByTestId('form-error-line').allTextContents(),
        };
      };

      // A range error of a single question names its limits under the input.
      await page.getByTestId('question-kind').selectOption('single');
      await page.getByTestId('question-text').fill('Сколько стоит вопрос?');
      await page.getByTestId('question-options').fill('Да\nНет');
      await page.getByTestId('question-correct').fill('1');
      await page.getByTestId('question-points').fill('500');
      const pointsError = page.getByTestId('field-error-points');

      // Russian first, then the same replies in English after the switch.
      for (const expected of TRANSLATED_ERRORS) {
        const displayed = await importBadFile();
        assert.equal(displayed.summary, expected.summary);
        assert.deepEqual(displayed.lines, expected.lines);
        await clickTestId(organiser, 'save-question');
        await pointsError.waitFor({ state: 'visible' });
        await waitInPage(
          organiser,
          `the range error «${expected.points}»`,
          (text) => document.querySelector('[data-testid="field-error-points"]').textContent === text,
          expected.points,
        );
        await clickTestId(organiser, 'language');
      }

      const bank = await call('GET', bankPath, undefined, 200);
      assert.equal(bank.length, 3, 'the failed import and save added nothing');
      assert.equal(await organiser.errorBanner(), null);
    }));

  it('organiser sets the latest first opening of a test', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const organiser = await stage.browser.openPage('opens-until', `${stage.server.baseUrl}/console.html`);
      const page = organiser.page;
      await page.getByTestId('theory-test').first().waitFor();
      const field = page.getByTestId('theory-opens-until-field');
      assert.equal(await field.isHidden(), true, 'hidden with a common start');
      await page.getByTestId('theory-mode').selectOption('first_opening');
      await field.waitFor({ state: 'visible' });

      // Tomorrow at 10:00 local time, open for first openings until 10:30.
      const day = new Date(Date.now() + 24 * 3600 * 1000);
      const local = (hour, minute) => {
        const pad = (n) => String(n).padStart(2, '0');
        const date = `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
        return `${date}T${pad(hour)}:${pad(minute)}`;
      };
      await page.getByTestId('theory-title').fill('Повторный тур');
      await page.getByTestId('theory-starts').fill(local(10, 0));
      await page.getByTestId('theory-limit').fill('30');
      await page.getByTestId('theory-opens-until').fill(local(10, 30));
      await clickTestId(organiser, 'create-theory-test');
      await page.getByTestId('theory-test').filter({ hasText: 'Повторный тур' }).waitFor();

      const tasks = await call('GET', `/api/v1/parts/${partId}/tasks`, undefined, 200);
      const created = tasks.items.find((task) => task.title === 'Повторный тур');
      assert.ok(created, JSON.stringify(tasks));
      assert.equal(created.limit_mode, 'first_opening');
      assert.equal(created.opens_until, new Date(local(10, 30)).getTime());
      assert.equal(await organiser.errorBanner(), null);
    }));

  it('expert reaches the identity check from the scoring page', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const baseUrl = stage.server.baseUrl;
      await stage.browser.context.clearCookies();
      await stage.browser.context.addCookies([
        { name: 'profstage_session', value: expertSession, url: baseUrl },
      ]);
      const expert = await stage.browser.openPage('expert', `${baseUrl}/scoring.html`);
      await waitInPage(expert, 'the workspace', () => document.body.dataset.ready === 'true');
      const link = expert.page.getByTestId('identity-link');
      assert.equal(await link.count(), 1);
      assert.match(await link.textContent(), new RegExp(TITLE));
      await link.click();
      await expert.page.waitForURL(new RegExp(`identity\\.html\\?test=${testId}$`));
      await waitInPage(expert, 'the confirmed snapshot', () =>
        document.querySelector('[data-testid="check"]')?.dataset.status === 'confirmed',
      );
      assert.equal(await expert.errorBanner(), null);
    }));
});
