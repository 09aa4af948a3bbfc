// An application from the public form to an accepted participant. A person fills in
// apply.html with a PDF and consent. An organiser, created with `profstage
// create-organiser`, signs in on applications.html, registers the application, starts the
// review and accepts it. The private status page then shows it accepted with its number.
// A second application is rejected through the dialog, which needs a reason, and its status
// page shows that reason. Accepting it before its review names its status and the one
// required. Last, the header's link takes the organiser back to the console.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOrganiser } from './support/contest.mjs';
import {
  PDF,
  applyAction,
  fillApplication,
  organiserApi,
  waitForRowStatus,
} from './support/contest-pages.mjs';
import { clickTestId, waitInPage } from './support/pages.mjs';
import { Stage } from './support/stage.mjs';

const TEST_TIMEOUT_MS = 120_000;
const LOGIN = 'chief';
const PASSWORD = 'organiser password for e2e';
const APPLICANT = 'Семёнова Ольга Игоревна';
const SECOND = 'Кузнецов Андрей Павлович';
const REASON = 'Стаж по профессии меньше трёх лет';

/** Sends an application through the public API, as the form would, and returns its token. */
async function submitDirectly(baseUrl, nominationId, fullName) {
  const form = new FormData();
  const fields = {
    nomination_id: nominationId,
    full_name: fullName,
    birth_date: '1988-11-02',
    employer: 'ООО «Ремонт»',
    position: 'Сварщик',
    experience_years: '2',
    email: 'andrey@example.org',
    phone: '+7 910 000-00-00',
    consent_version: '2027-01',
    consent: 'true',
  };
  for (const [name, value] of Object.entries(fields)) {
    form.set(name, value);
  }
  form.append('attachments', new Blob([PDF], { type: 'application/pdf' }), 'cv.pdf');
  const reply = await fetch(`${baseUrl}/api/v1/applications`, { method: 'POST', body: form });
  const text = await reply.text();
  assert.equal(reply.status, 201, text);
  return JSON.parse(text).status_token;
}

describe('application from the public form to a participant', () => {
  let stage;
  let nomination;
  let regional;
  let statusUrl = null;
  let organiser = null;

  before(async () => {
    stage = await Stage.open('applications');
    await createOrganiser(stage.server, LOGIN, PASSWORD);
    const post = await organiserApi(stage.server.baseUrl, LOGIN, PASSWORD);
    const contest = await post('/api/v1/contests', { name: 'Лучший по профессии 2027' });
    regional = await post(`/api/v1/contests/${contest.id}/stages`, {
      region: 'Тверская область',
      starts_at: Date.UTC(2027, 3, 1),
      ends_at: Date.UTC(2027, 3, 2),
    });
    nomination = await post(`/api/v1/stages/${regional.id}/nominations`, {
      profession: 'Сварщик',
    });
    await post('/api/v1/consent-texts', {
      version: '2027-01',
      body: 'Я даю согласие на обработку моих персональных данных для участия в конкурсе.',
    });
  });

  after(async () => {
    await stage?.close();
  });

  it('a person sends the form with a file and consent', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const query = new URLSearchParams({ stage: regional.id, nomination: nomination.id });
      const url = `${stage.server.baseUrl}/apply.html?${query}`;
      const applicant = await stage.browser.openPage('applicant', url);
      const page = applicant.page;
      await waitInPage(applicant, 'the form loading', () => {
        const form = document.querySelector('[data-testid="application-form"]');
        return form && !form.hidden;
      });
      const consentText = await page.getByTestId('consent-text').textContent();
      assert.match(consentText, /согласие на обработку/);

      await fillApplication(page, APPLICANT, 'olga@example.org');

      // Without consent the server rejects the form and names the field.
      await clickTestId(applicant, 'submit');
      await waitInPage(applicant, 'the consent error', () => {
        const error = document.querySelector('[data-error-for="consent"]');
        return error && !error.hidden;
      });

      await page.getByTestId('consent').check();
      await clickTestId(applicant, 'submit');
      await waitInPage(applicant, 'the receipt', () => {
        const sent = document.querySelector('[data-testid="sent"]');
        return sent && !sent.hidden;
      });
      statusUrl = await page.getByTestId('status-link').getAttribute('href');
      assert.match(statusUrl, /\/application-status\.html#[0-9a-f]{64}$/);
    }),
  );

  it('the organiser registers and accepts it', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!statusUrl) {
        t.skip('the application was not sent');
        return;
      }
      const url = `${stage.server.baseUrl}/applications.html`;
      organiser = await stage.browser.openPage('organiser', url);
      const page = organiser.page;
      await waitInPage(organiser, 'the sign-in form', () => {
        const form = document.querySelector('[data-testid="sign-in"]');
        return form && !form.hidden;
      });
      // The header leads back to the console, as the console's menu leads here.
      const consoleLink = page.locator('header').getByTestId('console-link');
      assert.equal(await consoleLink.count(), 1, 'one console link in the header');
      assert.equal(await consoleLink.getAttribute('href'), 'console.html');
      assert.equal(await consoleLink.textContent(), 'Консоль организатора');
      assert.equal(await consoleLink.isVisible(), true);

      await page.fill('#login', LOGIN);
      await page.fill('#password', PASSWORD);
      await clickTestId(organiser, 'sign-in-submit');

      const row = page.locator('[data-testid="application-row"]', { hasText: APPLICANT });
      const statusOf = () => row.locator('.application-status').getAttribute('data-status');
      await row.waitFor({ timeout: 20_000 });
      assert.equal(await statusOf(), 'submitted');

      await applyAction(organiser, APPLICANT, 'register', 'registered');
      await applyAction(organiser, APPLICANT, 'start_review', 'under_review');
      await applyAction(organiser, APPLICANT, 'accept', 'accepted');
      const number = await row.locator('td').nth(1).textContent();
      assert.match(number, /^ЛПП-2027-\d{4}$/);

      await page.getByTestId('filter-stage').selectOption(regional.id);
      const csv = await page.getByTestId('export-csv').getAttribute('href');
      assert.equal(csv, `/api/v1/stages/${regional.id}/participants/csv`);
    }),
  );

  it('the status page shows the application accepted', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!statusUrl) {
        t.skip('the application was not sent');
        return;
      }
      const status = await stage.browser.openPage('status', statusUrl);
      await waitInPage(status, 'the accepted status', () => {
        const label = document.querySelector('[data-testid="application-status"]');
        return label?.dataset.status === 'accepted';
      });
      const number = await status.page.getByTestId('number').textContent();
      assert.match(number, /^ЛПП-2027-\d{4}$/);
      const text = await status.page.getByTestId('result').textContent();
      assert.ok(!text.includes(APPLICANT), 'the status page shows no name');
    }),
  );

  it('a rejection needs a reason that the applicant sees', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!organiser) {
        t.skip('the organiser did not sign in');
        return;
      }
      const token = await submitDirectly(stage.server.baseUrl, nomination.id, SECOND);
      await clickTestId(organiser, 'apply-filters');
      await waitForRowStatus(organiser, SECOND, 'submitted');

      // Accepting a submitted application fails with both statuses named in words.
      const submitted = organiser.page.locator('[data-testid="application-row"]', {
        hasText: SECOND,
      });
      await submitted.getByTestId('select').check();
      await clickTestId(organiser, 'bulk-accept');
      await waitInPage(organiser, 'the wrong status message', () => {
        const banner = document.querySelector('[data-testid="error"]');
        return !banner.hidden && banner.textContent.includes('Принять');
      });
      const banner = await organiser.errorBanner();
      assert.ok(banner.includes('«На рассмотрении»'), `the required status: ${banner}`);
      assert.ok(banner.includes('«Подана»'), `the current status: ${banner}`);
      assert.ok(banner.includes(SECOND), `the applicant's name: ${banner}`);
      assert.doesNotMatch(banner, /[0-9a-f]{8}-[0-9a-f]{4}-/, 'the message shows an id');
      assert.doesNotMatch(banner, /under_review|submitted/, 'the message shows a raw status');
      await submitted.getByTestId('select').uncheck();

      await applyAction(organiser, SECOND, 'register', 'registered');
      await applyAction(organiser, SECOND, 'start_review', 'under_review');

      const row = organiser.page.locator('[data-testid="application-row"]', { hasText: SECOND });
      await row.getByTestId('select').check();
      await clickTestId(organiser, 'bulk-reject');
      await clickTestId(organiser, 'reject-confirm');
      await waitInPage(organiser, 'the missing reason message', () => {
        const dialog = document.querySelector('[data-testid="reject-dialog"]');
        const error = document.querySelector('[data-testid="reject-error"]');
        return dialog.open && !error.hidden;
      });
      const unchanged = await row.locator('.application-status').getAttribute('data-status');
      assert.equal(unchanged, 'under_review', 'nothing is sent without a reason');

      await organiser.page.getByTestId('reject-reason').fill(REASON);
      await clickTestId(organiser, 'reject-confirm');
      await waitForRowStatus(organiser, SECOND, 'rejected');

      const status = await stage.browser.openPage(
        'rejected-status',
        `${stage.server.baseUrl}/application-status.html?token=${token}`,
      );
      await waitInPage(status, 'the rejected status', () => {
        const label = document.querySelector('[data-testid="application-status"]');
        return label?.dataset.status === 'rejected';
      });
      assert.equal(await status.page.getByTestId('reason').textContent(), REASON);

      // The header's link opens the console in the same session.
      await clickTestId(organiser, 'console-link');
      await organiser.page.waitForURL(/\/console\.html$/);
      await waitInPage(organiser, 'the console', () => !document.getElementById('console').hidden);
    }),
  );
});
