// The scoring page in Chromium. An expert group of a chair and a member assesses one
// participant who streams from a contest room. The member opens the scoring link, watches
// the participant live beside the sheet, fills the sheet as they type and locks it. The
// chair's sheet is filled over HTTP; the chair then generates the protocol on the page,
// and both approve it with one-time codes read from the server's outbox folder. The chair
// then reopens the member's sheet with a reason, the member changes and locks it again,
// and the new protocol goes to the regional commission, after which the chair can neither
// generate it again nor reopen a sheet. The commission's member finds it waiting on their
// page and approves it. Last, the organiser adds a criterion in the console and it
// shows on the member's sheet.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { acceptInvite, createOrganiser, organiserCalls } from './support/contest.mjs';
import { submitForm, waitChosen } from './support/contest-pages.mjs';
import { clickTestId, waitInPage } from './support/pages.mjs';
import { waitFor } from './support/poll.mjs';
import { Stage } from './support/stage.mjs';

const TEST_TIMEOUT_MS = 240_000;
const LOGIN = 'chief';
const PASSWORD = 'organiser password for e2e';

/** Returns `call(method, path, body, expected)` for a person signed in with `cookie`. */
async function personCalls(baseUrl, cookie) {
  const me = await fetch(`${baseUrl}/api/v1/me`, { headers: { cookie: `profstage_session=${cookie}` } });
  assert.equal(me.status, 200);
  const { csrf_token: csrf } = await me.json();
  return async (method, urlPath, body, expected) => {
    const headers = { cookie: `profstage_session=${cookie}`, 'x-csrf-token': csrf };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
    }
    const reply = await fetch(`${baseUrl}${urlPath}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await reply.text();
    assert.equal(reply.status, expected, `${method} ${urlPath}: ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

/** Returns the code of the newest approval message in the server's outbox for `person`. */
function newestCode(outbox, person) {
  const messages = fs
    .readdirSync(outbox)
    .map((name) => JSON.parse(fs.readFileSync(path.join(outbox, name), 'utf8')))
    .filter((message) => message.to === person)
    .sort((a, b) => a.expires_at - b.expires_at);
  assert.ok(messages.length > 0, `no code for ${person} in ${outbox}`);
  return messages.at(-1).code;
}

describe('scoring page', () => {
  let stage;
  let world;

  before(async () => {
    stage = await Stage.open('scoring');
    await createOrganiser(stage.server, LOGIN, PASSWORD);
    const baseUrl = stage.server.baseUrl;
    const call = await organiserCalls(baseUrl, LOGIN, PASSWORD);
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
      kind: 'practice',
      title: 'Практика',
    }, 201);
    const weld = await call('POST', `/api/v1/parts/${part.id}/criteria`, {
      name: 'Качество шва', max_points: 10, kind: 'points',
    }, 201);
    const safety = await call('POST', `/api/v1/parts/${part.id}/criteria`, {
      name: 'Охрана труда', max_points: 5, kind: 'yes_no',
    }, 201);
    const room = await call('POST', `/api/v1/parts/${part.id}/rooms`, { title: 'Пост 1' }, 201);

    const sessions = {};
    const ids = {};
    const invites = {};
    for (const [key, role, fullName] of [
      ['participant', 'participant', 'Иванова Мария Петровна'],
      ['chair', 'expert', 'Смирнова Ольга Ивановна'],
      ['member', 'expert', 'Кузнецов Пётр Андреевич'],
    ]) {
      const person = await call('POST', '/api/v1/people', { role, full_name: fullName }, 201);
      await call('PUT', `/api/v1/rooms/${room.id}/assignments/${person.id}`, undefined, 201);
      const invite = await call('POST', `/api/v1/people/${person.id}/invites`, {}, 201);
      ids[key] = person.id;
      if (key === 'member') {
        // The member opens the scoring link in the browser.
        invites[key] = invite.token;
      } else {
        sessions[key] = await acceptInvite(baseUrl, invite.token);
      }
    }
    // The commission member of the regional stage, who is assigned to no room.
    const commission = await call('POST', '/api/v1/people', {
      role: 'commission_member',
      full_name: 'Сидоров Андрей Викторович',
      region: 'Тверская область',
      stage_id: regional.id,
    }, 201);
    ids.commission = commission.id;
    const commissionInvite = await call('POST', `/api/v1/people/${commission.id}/invites`, {}, 201);
    sessions.commission = await acceptInvite(baseUrl, commissionInvite.token);
    await call('POST', `/api/v1/nominations/${nomination.id}/expert-groups`, {
      name: 'Группа сварщиков',
      chair_id: ids.chair,
      member_ids: [ids.member],
    }, 201);
    world = {
      baseUrl,
      call,
      regional,
      part,
      room,
      weld,
      safety,
      ids,
      sessions,
      invites,
      outbox: path.join(stage.server.dataDir, 'data', 'outbox'),
      chair: await personCalls(baseUrl, sessions.chair),
      participant: await personCalls(baseUrl, sessions.participant),
    };
  });

  after(async () => {
    await stage?.close();
  });

  /** Makes the browser's session that of `who`. */
  async function signInAs(who) {
    await stage.browser.context.clearCookies();
    await stage.browser.context.addCookies([
      { name: 'profstage_session', value: world.sessions[who], url: world.baseUrl },
    ]);
  }

  it('shows a criterion added in the console on the sheet', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const { baseUrl } = world;
      const organiser = await openConsolePart('organiser', 2);

      // A form error names the field, then the corrected criterion is added and moved up.
      await submitForm(organiser, { 'criterion-name': 'Порядок на посту', 'criterion-max': '0' }, 'save-criterion');
      await organiser.page.getByTestId('field-error-max_points').waitFor();
      await submitForm(organiser, {
        'criterion-name': 'Порядок на посту',
        'criterion-description': 'Инструмент убран, пост чистый',
        'criterion-max': '3',
        'criterion-kind': 'yes_no',
      }, 'save-criterion');
      const added = organiser.page.getByTestId('criterion').filter({ hasText: 'Порядок на посту' });
      await added.waitFor();
      await added.getByTestId('criterion-up').click();
      await waitInPage(organiser, 'the moved criterion', () =>
        document.querySelectorAll('[data-testid="criterion"]')[1]?.textContent.includes('Порядок на посту'));

      // The stage's rule switches to the median.
      await submitForm(organiser, { 'rule-aggregation': 'median' }, 'save-rule');
      await waitInPage(organiser, 'the saved rule', () =>
        document.querySelector('[data-testid="rule-status"]').textContent !== '');
      const { items } = await world.call('GET', `/api/v1/parts/${world.part.id}/criteria`, undefined, 200);
      assert.deepEqual(items.map((criterion) => criterion.name), ['Качество шва', 'Порядок на посту', 'Охрана труда']);
      const tidy = items[1];
      world.tidy = tidy;
      assert.equal(tidy.kind, 'yes_no');
      assert.equal(tidy.max_points, 3);
      assert.equal(tidy.description, 'Инструмент убран, пост чистый');
      const rule = await world.call('GET', `/api/v1/stages/${world.regional.id}/scoring-rule`, undefined, 200);
      assert.equal(rule.aggregation, 'median');
      assert.equal(await organiser.errorBanner(), null);

      // The chair's sheet shows the new criterion in its place.
      await signInAs('chair');
      const chair = await stage.browser.openPage('chair-criteria', `${baseUrl}/scoring.html`);
      await waitInPage(chair, 'the workspace', () => document.body.dataset.ready === 'true');
      await chair.page.getByTestId('open-participant').click();
      const input = chair.page.locator(`[data-criterion="${tidy.id}"]`);
      await input.waitFor();
      const order = await chair.page.locator('[data-testid="mark-input"]')
        .evaluateAll((inputs) => inputs.map((element) => element.dataset.criterion));
      assert.deepEqual(order, items.map((criterion) => criterion.id));
      assert.equal(await input.evaluate((element) => element.tagName), 'SELECT');
    }));

  it('lets experts assess, lock, generate and approve the protocol', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const { baseUrl, ids } = world;
      // The participant streams with a media token of their own session.
      const issued = await world.participant('POST', `/api/v1/rooms/${world.room.id}/media-token`, undefined, 200);
      const participant = await stage.browser.openPage(
        'participant',
        `${baseUrl}/participant.html#token=${encodeURIComponent(issued.token)}`,
      );
      await clickTestId(participant, 'join');

      // The scoring link signs the member in and opens the scoring page.
      await stage.browser.context.clearCookies();
      const link = `${baseUrl}/invite.html#token=${world.invites.member}&next=scoring`;
      const member = await stage.browser.openPage('member', link);
      await waitInPage(member, 'the workspace', () => document.body.dataset.ready === 'true');
      assert.equal(new URL(member.page.url()).pathname, '/scoring.html');
      const cookies = await stage.browser.context.cookies(baseUrl);
      world.sessions.member = cookies.find((cookie) => cookie.name === 'profstage_session').value;
      await member.page.getByTestId('open-participant').click();

      // The live room shows the participant's camera inside the page.
      const frame = member.page.frameLocator('[data-testid="viewer-frame"]');
      await frame.locator('[data-testid="tile"][data-state="live"]').first()
        .waitFor({ timeout: 60_000 });

      // The recordings open in the same frame, tall enough to use and without a second header.
      await clickTestId(member, 'show-recordings');
      await waitInPage(member, 'the recordings view', () =>
        document.querySelector('[data-testid="viewer-frame"]').dataset.view === 'recordings');
      await frame.locator('[data-testid="live-panel"]').waitFor();
      assert.equal(await frame.locator('.site-header').isVisible(), false, 'no second header');
      const height = await member.page.getByTestId('viewer-frame')
        .evaluate((element) => element.getBoundingClientRect().height);
      assert.ok(height >= 480, `frame ${height} px tall`);
      await clickTestId(member, 'show-live');
      await frame.locator('[data-testid="tile"][data-state="live"]').first()
        .waitFor({ timeout: 60_000 });

      // Marks save as the member types; a mark above the maximum is rejected under its input.
      const weld = member.page.locator(`[data-criterion="${world.weld.id}"]`);
      await weld.fill('12');
      await waitInPage(member, 'the rejected mark', (id) =>
        document.querySelector(`[data-testid="field-error-mark-${id}"]`) !== null, world.weld.id);
      await weld.fill('8');
      await member.page.locator(`[data-criterion="${world.safety.id}"]`).selectOption('yes');
      await member.page.locator(`[data-criterion="${world.tidy.id}"]`).selectOption('yes');
      await member.page.getByTestId('sheet-comment').fill('Шов ровный');
      await waitInPage(member, 'the saved sheet', () =>
        document.querySelector('[data-testid="sheet-form"]').dataset.saved === 'true');
      const saved = await world.chair('GET', `/api/v1/expert-groups/${(await groupId())}/sheets`, undefined, 200);
      assert.equal(saved.items.length, 1);
      assert.equal(saved.items[0].marks, 3, 'every mark was saved before locking');

      await clickTestId(member, 'lock-sheet');
      await waitInPage(member, 'the locked sheet', () =>
        document.querySelector('[data-testid="sheet-form"]').dataset.state === 'locked');
      assert.equal(await weld.isDisabled(), true, 'a locked sheet cannot be edited');

      // The chair's own sheet, over HTTP.
      const sheetPath = `/api/v1/parts/${world.part.id}/sheets/${ids.participant}`;
      const chairSheet = await world.chair('PUT', sheetPath, {
        marks: [
          { criterion_id: world.weld.id, value: 6 },
          { criterion_id: world.safety.id, value: true },
          { criterion_id: world.tidy.id, value: true },
        ],
      }, 200);
      await world.chair('POST', `/api/v1/sheets/${chairSheet.id}/lock`, undefined, 200);

      // The chair generates the protocol and approves it.
      await signInAs('chair');
      const chair = await stage.browser.openPage('chair', `${baseUrl}/scoring.html`);
      await waitInPage(chair, 'the chair view', () =>
        document.querySelector('[data-testid="chair-group"]')?.dataset.complete === 'true');
      const total = await chair.page.getByTestId('summary-total').textContent();
      assert.equal(total, '15.00', 'median of 8 and 6 plus 5 and 3 for two yes');
      await clickTestId(chair, 'generate-protocol');
      await waitInPage(chair, 'the protocol', () =>
        document.querySelector('[data-testid="protocol"]') !== null);
      await approveOnPage(chair, ids.chair);

      // The member approves from their page, after a reload.
      await signInAs('member');
      await member.page.reload();
      await waitInPage(member, 'the workspace', () => document.body.dataset.ready === 'true');
      await approveOnPage(member, ids.member);
      await waitInPage(member, 'the approved protocol', () =>
        document.querySelector('[data-testid="protocol"]').dataset.approved === 'true');

      const { items } = await world.chair('GET', `/api/v1/expert-groups/${await groupId()}/protocols`, undefined, 200);
      assert.equal(items[0].approved, true);
      assert.deepEqual(
        items[0].approvals.map((approval) => approval.content_hash),
        [items[0].content_hash, items[0].content_hash],
      );
      assert.equal(await participant.errorBanner(), null);
    }));

  it('lets the chair reopen a sheet that the member locks again', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const { baseUrl, ids } = world;
      await signInAs('chair');
      const chair = await stage.browser.openPage('chair-reopen', `${baseUrl}/scoring.html`);
      await waitInPage(chair, 'the chair view', () =>
        document.querySelector('[data-testid="chair-group"]')?.dataset.complete === 'true');
      const row = chair.page.getByTestId('group-sheet').filter({ hasText: 'Кузнецов' });
      // The reason field has a visible label, which also names it for screen readers.
      const caption = row.getByText('Причина повторного открытия');
      const box = await caption.boundingBox();
      assert.ok(box.width > 20, `label ${box.width} px wide`);
      assert.ok(box.height > 5, `label ${box.height} px tall`);
      const reason = row.getByLabel('Причина повторного открытия');
      assert.equal(await reason.getAttribute('data-testid'), 'reopen-reason');
      await reason.fill('Пересмотреть качество шва');
      await row.getByTestId('reopen-sheet').click();
      await waitInPage(chair, 'the reopened sheet', () =>
        document.querySelector('[data-testid="chair-group"]')?.dataset.complete === 'false');
      const log = await world.call('GET', '/api/v1/audit-log?limit=50', undefined, 200);
      const reopened = log.items.find((entry) => entry.action === 'sheet.reopen');
      assert.ok(reopened, 'the reopening is in the audit log');
      assert.match(reopened.detail, /Пересмотреть качество шва/);

      // The member's sheet is open again, so a changed mark saves and the sheet locks again.
      await signInAs('member');
      const member = await stage.browser.openPage('member-reopen', `${baseUrl}/scoring.html`);
      await waitInPage(member, 'the workspace', () => document.body.dataset.ready === 'true');
      await member.page.getByTestId('open-participant').click();
      await waitInPage(member, 'the open sheet', () =>
        document.querySelector('[data-testid="sheet-form"]').dataset.state === 'open');
      const weld = member.page.locator(`[data-criterion="${world.weld.id}"]`);
      assert.equal(await weld.inputValue(), '8', 'the reopened sheet keeps its marks');
      await weld.fill('10');
      await waitInPage(member, 'the saved change', () =>
        document.querySelector('[data-testid="sheet-form"]').dataset.saved === 'true');
      await clickTestId(member, 'lock-sheet');
      await waitInPage(member, 'the locked sheet', () =>
        document.querySelector('[data-testid="sheet-form"]').dataset.state === 'locked');
      assert.equal(await weld.isDisabled(), true);

      // The approved protocol no longer matches. The chair generates it again, and both
      // members approve the new content before the chair hands it over.
      const { items } = await world.chair('GET', `/api/v1/expert-groups/${await groupId()}/protocols`, undefined, 200);
      assert.equal(items[0].current, false, 'the changed sheet outdates the protocol');
      // Pages share the browser's cookie, so each step first takes its person's session.
      await signInAs('chair');
      await chair.page.reload();
      await waitInPage(chair, 'the complete group', () =>
        document.querySelector('[data-testid="chair-group"]')?.dataset.complete === 'true');
      assert.equal(await chair.page.getByTestId('summary-total').textContent(), '16.00', 'median of 10 and 6 plus 5 and 3');
      await clickTestId(chair, 'generate-protocol');
      await waitInPage(chair, 'the regenerated protocol', () =>
        document.querySelector('[data-testid="protocol"]')?.dataset.current === 'true');
      await approveOnPage(chair, ids.chair);
      await signInAs('member');
      await member.page.reload();
      await waitInPage(member, 'the protocol waiting for the member', () =>
        document.querySelector('[data-testid="my-protocol"]')?.dataset.waiting === 'true');
      // Opening it from the list leads to the workspace's card rather than a second form.
      await member.page.getByTestId('my-protocol').getByTestId('open-protocol').click();
      assert.equal(await member.page.getByTestId('approval-code').count(), 1, 'one code form');
      assert.equal(await member.page.getByTestId('my-protocol-view').isHidden(), true);
      await approveOnPage(member, ids.member);
      await signInAs('chair');
      await chair.page.reload();
      await waitInPage(chair, 'the approved protocol', () =>
        document.querySelector('[data-testid="protocol"]')?.dataset.approved === 'true');
      await clickTestId(chair, 'hand-over');
      await waitInPage(chair, 'the commission protocol', () =>
        document.querySelector('[data-testid="protocol"][data-kind="commission"]') !== null);

      // The page redraws the chair's view before the protocols, so it is current here. The
      // server rejects generating and reopening after the hand-over, and the view shows why.
      assert.equal(await chair.page.getByTestId('generate-protocol').isDisabled(), true);
      assert.equal(await chair.page.getByTestId('handed-over-note').isVisible(), true);
      assert.equal(await chair.page.getByTestId('reopen-sheet').count(), 0, 'no reopen form');
    }));

  it('shows the commission member the protocol waiting for them', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const { baseUrl, ids } = world;
      await signInAs('commission');
      const me = await stage.browser.openPage('commission', `${baseUrl}/me.html`);
      await clickTestId(me, 'protocols-link');
      await me.page.waitForURL(/scoring\.html$/);
      await waitInPage(me, 'the list of protocols', () => document.body.dataset.ready === 'true');
      assert.equal(await me.page.locator('#workspace').isHidden(), true);
      const waiting = me.page.getByTestId('my-protocol');
      assert.equal(await waiting.count(), 1);
      assert.equal(await waiting.getAttribute('data-waiting'), 'true');
      assert.match(await waiting.textContent(), /Группа сварщиков — Сварщик, Тверская область/);
      await waiting.getByTestId('open-protocol').click();
      await waitInPage(me, 'the opened protocol', () =>
        document.querySelector('[data-testid="protocol"]')?.dataset.kind === 'commission');
      await approveOnPage(me, ids.commission);
      await waitInPage(me, 'the list without waiting protocols', () =>
        document.querySelector('[data-testid="my-protocol"]')?.dataset.waiting === 'false');

      const protocolId = await waiting.getAttribute('data-id');
      const protocol = await world.chair('GET', `/api/v1/protocols/${protocolId}`, undefined, 200);
      assert.equal(protocol.kind, 'commission');
      assert.equal(protocol.approved, true);
      assert.equal(protocol.approvals[0].person_id, ids.commission);
      assert.equal(protocol.approvals[0].content_hash, protocol.content_hash);
      assert.equal(await me.errorBanner(), null);
    }));

  it('refuses criteria changes in the console after the hand-over', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const organiser = await openConsolePart('organiser-frozen', 3);
      await submitForm(organiser, {
        'criterion-name': 'Чистота шва',
        'criterion-max': '2',
        'criterion-kind': 'points',
      }, 'save-criterion');
      await waitInPage(organiser, 'the refusal', () =>
        /передала протокол в комиссию/.test(document.body.textContent));
      const { items } = await world.call('GET', `/api/v1/parts/${world.part.id}/criteria`, undefined, 200);
      assert.equal(items.length, 3, 'nothing was added');
    }));

  /** Signs the organiser in and waits for the console to show the part's `count` criteria. */
  async function openConsolePart(name, count) {
    await stage.browser.context.clearCookies();
    const organiser = await stage.browser.openPage(name, `${world.baseUrl}/signin.html`);
    await submitForm(organiser, { login: LOGIN, password: PASSWORD }, 'signin');
    await organiser.page.waitForURL(/console\.html$/);
    await waitChosen(organiser, 'part-select', 'Практика');
    await waitInPage(organiser, 'the criteria of the part', (expected) =>
      document.querySelectorAll('[data-testid="criterion"]').length === expected, count);
    return organiser;
  }

  async function groupId() {
    const workspace = await world.chair('GET', '/api/v1/me/scoring', undefined, 200);
    return workspace.groups[0].id;
  }

  /** Requests a code on the page, reads it from the outbox and approves. */
  async function approveOnPage(browserPage, person) {
    const count = () => (fs.existsSync(world.outbox) ? fs.readdirSync(world.outbox).length : 0);
    const before = count();
    await clickTestId(browserPage, 'request-code');
    await waitInPage(browserPage, 'the code notice', () =>
      !document.querySelector('[data-testid="code-sent"]').hidden);
    await waitFor('the code in the outbox', count, (now) => now > before);
    const code = newestCode(world.outbox, person);
    // A wrong code is named under the code field.
    const wrong = `${(Number(code[0]) + 1) % 10}${code.slice(1)}`;
    await browserPage.page.getByTestId('approval-code').fill(wrong);
    await clickTestId(browserPage, 'approve');
    const note = browserPage.page.getByTestId('field-error-code');
    await note.waitFor();
    assert.match(await note.textContent(), /Код неверен|The code is wrong/);
    await browserPage.page.getByTestId('approval-code').fill(code);
    await clickTestId(browserPage, 'approve');
    await waitInPage(browserPage, 'the approval', (id) =>
      document.querySelector(`[data-testid="approval"][data-person="${id}"]`)?.dataset.approved === 'true',
    person);
  }
});
