// The whole path of an applicant, through the pages only. A person applies on apply.html with
// a PDF and consent. The organiser, created with `profstage create-organiser`, signs in on
// applications.html, registers and accepts the application, and creates the new
// participant's invite link right there. In console.html the organiser assigns the
// participant to a room and schedules a briefing. In a browser of their own, the participant
// opens the link, lands on me.html, which shows the application's number, the room and the
// briefing, and joins the briefing.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launchBrowser } from './support/browser.mjs';
import {
  applyAction,
  fillApplication,
  localInput,
  organiserApi,
  submitForm,
  waitChosen,
} from './support/contest-pages.mjs';
import { clickTestId, waitInPage } from './support/pages.mjs';
import { runServerCommand } from './support/server.mjs';
import { Stage } from './support/stage.mjs';

const TEST_TIMEOUT_MS = 120_000;
const LOGIN = 'chief';
const PASSWORD = 'journey organiser password';
const APPLICANT = 'Воронцова Мария Сергеевна';
const ROOM = 'Сварочный пост 2';
const BRIEFING = 'Инструктаж перед практикой';

describe('applicant journey from the form to the briefing', () => {
  let stage;
  let regional;
  let nomination;
  let organiser = null;
  let participantBrowser = null;
  let applied = false;
  let number = null;
  let inviteLink = null;
  let briefingRoom = null;

  before(async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'profstage-e2e-'));
    runServerCommand(['create-organiser', '--login', LOGIN, '--name', 'Главный Организатор'], {
      dataDir,
      input: `${PASSWORD}\n`,
    });
    stage = await Stage.open('applicant-journey', { dataDir });
    // The contest's structure and consent text exist before the call for applications.
    const post = await organiserApi(stage.server.baseUrl, LOGIN, PASSWORD);
    const contest = await post('/api/v1/contests', { name: 'Лучший по профессии 2027' });
    regional = await post(`/api/v1/contests/${contest.id}/stages`, {
      region: 'Тверская область',
      starts_at: Date.now() + 24 * 3_600_000,
      ends_at: Date.now() + 48 * 3_600_000,
    });
    nomination = await post(`/api/v1/stages/${regional.id}/nominations`, {
      profession: 'Сварщик',
    });
    const part = await post(`/api/v1/nominations/${nomination.id}/parts`, {
      kind: 'practice',
      title: 'Практическое задание',
    });
    await post(`/api/v1/parts/${part.id}/rooms`, { title: ROOM });
    await post('/api/v1/consent-texts', {
      version: '2027-01',
      body: 'Я даю согласие на обработку моих персональных данных для участия в конкурсе.',
    });
  });

  after(async () => {
    if (stage?.failed && participantBrowser) {
      await participantBrowser.saveArtifacts(fs.mkdtempSync(path.join(os.tmpdir(), 'journey-')));
    }
    await participantBrowser?.close();
    await stage?.close();
  });

  it('a person applies with a PDF and consent', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const query = new URLSearchParams({ stage: regional.id, nomination: nomination.id });
      const applicant = await stage.browser.openPage(
        'applicant',
        `${stage.server.baseUrl}/apply.html?${query}`,
      );
      const page = applicant.page;
      await waitInPage(applicant, 'the form loading', () => {
        const form = document.querySelector('[data-testid="application-form"]');
        return form && !form.hidden;
      });
      await fillApplication(page, APPLICANT, 'maria@example.org');
      await page.getByTestId('consent').check();
      await clickTestId(applicant, 'submit');
      await waitInPage(applicant, 'the receipt', () => {
        const sent = document.querySelector('[data-testid="sent"]');
        return sent && !sent.hidden;
      });
      applied = true;
    }),
  );

  it('the organiser accepts it and creates the invite link', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!applied) {
        t.skip('the application was not sent');
        return;
      }
      organiser = await stage.browser.openPage(
        'organiser',
        `${stage.server.baseUrl}/applications.html`,
      );
      const page = organiser.page;
      await waitInPage(organiser, 'the sign-in form', () => {
        const form = document.querySelector('[data-testid="sign-in"]');
        return form && !form.hidden;
      });
      await page.fill('#login', LOGIN);
      await page.fill('#password', PASSWORD);
      await clickTestId(organiser, 'sign-in-submit');
      const row = page.locator('[data-testid="application-row"]', { hasText: APPLICANT });
      await row.waitFor({ timeout: 20_000 });

      await applyAction(organiser, APPLICANT, 'register', 'registered');
      await applyAction(organiser, APPLICANT, 'start_review', 'under_review');
      await applyAction(organiser, APPLICANT, 'accept', 'accepted');
      number = await row.locator('td').nth(1).textContent();
      assert.match(number, /^ЛПП-\d{4}-\d{4}$/);

      // The accepted application's details offer the participant's invite link.
      const participant = page.getByTestId('detail-participant');
      await participant.waitFor({ state: 'visible' });
      assert.equal(await page.getByTestId('detail-name').textContent(), APPLICANT);
      await clickTestId(organiser, 'detail-create-invite');
      const linkInput = page.getByTestId('detail-invite-link');
      await linkInput.waitFor({ state: 'visible' });
      inviteLink = await linkInput.inputValue();
      assert.match(inviteLink, /\/invite\.html#[0-9a-f]{64}$/);
      await clickTestId(organiser, 'detail-copy-invite');
      await waitInPage(organiser, 'the copy button to report', () =>
        Boolean(document.querySelector('[data-testid="detail-copy-status"]')?.textContent),
      );
      const consoleLink = page.getByTestId('detail-console');
      assert.equal(await consoleLink.getAttribute('href'), 'console.html#people');

      // Opened again from the table, the details still offer it.
      await page.getByTestId('close-detail').click();
      await row.getByTestId('open').click();
      await participant.waitFor({ state: 'visible' });
    }),
  );

  it('the organiser assigns a room and schedules a briefing', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (inviteLink === null) {
        t.skip('the application was not accepted');
        return;
      }
      const page = organiser.page;
      await page.goto(`${stage.server.baseUrl}/console.html`);
      await page.locator('#console').waitFor({ state: 'visible' });
      await waitChosen(organiser, 'room-select', ROOM);

      // The participant made by the acceptance is in the people list, with an invite.
      const row = page.getByTestId('person-row').filter({ hasText: APPLICANT });
      await row.waitFor({ state: 'visible' });
      const participantId = await row.getAttribute('data-id');
      await row.getByTestId('show-invites').click();
      await page.getByTestId('invite').first().waitFor();
      assert.equal(await page.getByTestId('invite').count(), 1);

      await submitForm(organiser, { 'assign-person': participantId }, 'assign');
      await page.getByTestId('assignment').filter({ hasText: APPLICANT }).waitFor();

      await submitForm(
        organiser,
        {
          'briefing-title': BRIEFING,
          'briefing-starts': localInput(0.5),
          'briefing-agenda': 'Порядок практического задания',
        },
        'schedule-briefing',
      );
      const briefing = page.getByTestId('briefing').filter({ hasText: BRIEFING });
      await briefing.waitFor();
      briefingRoom = await briefing.getAttribute('data-room');
      assert.match(briefingRoom, /^[0-9a-f-]{36}$/);
    }),
  );

  it('the participant opens the link and joins the briefing', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (inviteLink === null || briefingRoom === null) {
        t.skip('the organiser did not finish');
        return;
      }
      participantBrowser = await launchBrowser();
      const participant = await participantBrowser.openPage('participant', inviteLink);
      const page = participant.page;
      await page.waitForURL(/\/me\.html$/);
      await page.getByTestId('my-application').waitFor({ state: 'visible' });
      assert.equal(await page.getByTestId('me-name').textContent(), APPLICANT);
      assert.equal(await page.getByTestId('application-number').textContent(), number);
      assert.equal(await page.getByTestId('application-nomination').textContent(), 'Сварщик');
      assert.equal(
        await page.getByTestId('application-stage').textContent(),
        'Лучший по профессии 2027 — Тверская область',
      );
      assert.equal(await page.getByTestId('application-status').textContent(), 'Принята');

      const room = page.getByTestId('my-room').filter({ hasText: ROOM });
      await room.waitFor();
      assert.match(await room.getByTestId('open-room').getAttribute('href'), /^participant\.html#room=/);
      const briefing = page.getByTestId('my-briefing').filter({ hasText: BRIEFING });
      await briefing.waitFor();
      const join = briefing.getByTestId('join-briefing');
      assert.equal(await join.getAttribute('href'), `briefing.html#room=${briefingRoom}`);

      await join.click();
      await page.waitForURL(/\/briefing\.html#room=/);
      await waitInPage(participant, 'joining the briefing', () => window.profstage?.phase === 'joined');
      await waitInPage(
        participant,
        'the status line to show a connection',
        () => document.querySelector('[data-testid="status"]')?.dataset.state === 'connected',
      );
    }),
  );
});
