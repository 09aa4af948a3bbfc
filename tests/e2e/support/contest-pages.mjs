// Helpers of the contest pages' tests: an organiser's API calls and the forms and tables of
// console.html and applications.html.

import assert from 'node:assert/strict';
import { clickTestId, waitInPage } from './pages.mjs';

/** Signs an organiser in over HTTP and returns a function for JSON POSTs that expect 201. */
export async function organiserApi(baseUrl, login, password) {
  const response = await fetch(`${baseUrl}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login, password }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  const cookie = response.headers.get('set-cookie').split(';')[0];
  const { csrf_token: csrf } = await response.json();
  return async (path, body) => {
    const reply = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf },
      body: JSON.stringify(body),
    });
    const text = await reply.text();
    assert.equal(reply.status, 201, `POST ${path}: ${text}`);
    return JSON.parse(text);
  };
}

/** Returns the value of a datetime-local input `hours` from now, in the browser's zone. */
export function localInput(hours) {
  const date = new Date(Date.now() + hours * 3_600_000);
  const pad = (n) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}

/** Fills inputs by test id, then clicks `submit`. */
export async function submitForm(browserPage, values, submit) {
  for (const [testId, value] of Object.entries(values)) {
    const input = browserPage.page.getByTestId(testId);
    const tag = await input.evaluate((element) => element.tagName);
    if (tag === 'SELECT') {
      await input.selectOption(value);
    } else {
      await input.fill(value);
    }
  }
  await clickTestId(browserPage, submit);
}

/** Waits until the select with `testId` offers an option labelled with `text`, chosen. */
export async function waitChosen(browserPage, testId, text) {
  await waitInPage(
    browserPage,
    `${testId} to choose "${text}"`,
    ({ testId, text }) => {
      const select = document.querySelector(`[data-testid="${testId}"]`);
      return select?.selectedOptions[0]?.textContent.startsWith(text) ?? false;
    },
    { testId, text },
  );
}

/** Selects the row of `name`, clicks the bulk button of `action` and waits for `status`. */
export async function applyAction(organiser, name, action, status) {
  const row = organiser.page.locator('[data-testid="application-row"]', { hasText: name });
  await row.getByTestId('select').check();
  await clickTestId(organiser, `bulk-${action}`);
  await waitForRowStatus(organiser, name, status);
}

/** Waits until the applications table shows the application of `name` in `status`. */
export function waitForRowStatus(organiser, name, status) {
  return waitInPage(
    organiser,
    `the application of ${name} becoming ${status}`,
    ([wanted, expected]) => {
      const rows = [...document.querySelectorAll('[data-testid="application-row"]')];
      const found = rows.find((r) => r.textContent.includes(wanted));
      return found?.querySelector('.application-status')?.dataset.status === expected;
    },
    [name, status],
  );
}

/** A minimal PDF, which the server accepts as an attachment. */
export const PDF = Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n');

/**
 * Fills the loaded form of apply.html for `fullName` with valid values, the e-mail `email`
 * and a PDF. Consent and sending are left to the caller.
 */
export async function fillApplication(page, fullName, email) {
  await page.fill('#full_name', fullName);
  await page.fill('#birth_date', '1991-03-14');
  await page.fill('#employer', 'АО «Тверской вагоностроительный завод»');
  await page.fill('#position', 'Электросварщик');
  await page.fill('#experience_years', '9');
  await page.fill('#email', email);
  await page.fill('#phone', '+7 (910) 555-12-34');
  await page.setInputFiles('#attachments', {
    name: 'диплом.pdf',
    mimeType: 'application/pdf',
    buffer: PDF,
  });
}
