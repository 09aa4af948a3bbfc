// A briefing with one organiser and three participants. Participants see the presenter's
// camera and screen. One raises a hand and is given the floor, and the others receive that
// participant's video and sound until the floor is taken back. A chat message reaches
// everyone. A participant whose connection drops while hands, the floor and the chat
// change sees their current state after it resumes. The attendance route lists everyone's
// join and leave times.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clickTestId, waitForLiveTile, waitInPage } from './support/pages.mjs';
import { waitFor } from './support/poll.mjs';
import { Stage } from './support/stage.mjs';
import { readReceived, readSent } from './support/stats.mjs';

const TEST_TIMEOUT_MS = 120_000;
// Long enough for the organiser to change hands, floor and chat while the page is offline.
const OUTAGE_MS = 10_000;
const PARTICIPANTS = ['Алексеева А. А.', 'Борисов Б. Б.', 'Васильева В. В.'];

/** Counts the receiving connection's m-lines that carry media to the page. */
function receivingCount(browserPage) {
  return browserPage.page.evaluate(() => {
    const pc = window.profstage?.subscriber;
    const transceivers = pc ? pc.getTransceivers() : [];
    return transceivers.filter((t) => t.currentDirection === 'recvonly').length;
  });
}

function tileSelector(identity) {
  return `[data-testid="tile"][data-identity="${identity}"]`;
}

function handSelector(identity) {
  return `[data-testid="hand"][data-identity="${identity}"]`;
}

/** Returns what a briefing page shows of its status, hands, floor, speaker and chat. */
function briefingView(browserPage) {
  return browserPage.page.evaluate(() => {
    const shown = (id) => !document.querySelector(`[data-testid="${id}"]`).hidden;
    return {
      status: document.querySelector('[data-testid="status"]').dataset.state,
      floor: document.querySelector('[data-testid="floor-indicator"]').dataset.identity,
      raiseHand: shown('raise-hand'),
      lowerHand: shown('lower-hand'),
      chat: [...document.querySelectorAll('[data-testid="chat-message"]')].map((item) =>
        item.querySelector('.chat-text').textContent,
      ),
      speakers: [...document.querySelectorAll('#speaker-grid [data-testid="tile"]')].map(
        (tile) => tile.dataset.identity,
      ),
    };
  });
}

/** Waits until the page's connection status is `state`, or leaves it with `not: true`. */
function waitForStatus(browserPage, state, { not = false, timeoutMs } = {}) {
  return waitInPage(
    browserPage,
    `the status to ${not ? 'leave' : 'become'} ${state}`,
    ({ state, not }) => {
      const shown = document.querySelector('[data-testid="status"]').dataset.state;
      return not ? shown !== state : shown === state;
    },
    { state, not },
    timeoutMs,
  );
}

/** Waits until the page's floor indicator names `identity`. */
function waitForFloor(browserPage, identity) {
  return waitInPage(
    browserPage,
    `the floor indicator to name ${identity}`,
    (identity) =>
      document.querySelector('[data-testid="floor-indicator"]')?.dataset.identity === identity,
    identity,
  );
}

describe('briefing with hands, floor, chat and attendance', () => {
  let stage;
  let organiser = null;
  const participants = [];

  const requireSetup = (t) => {
    if (!organiser || participants.length < PARTICIPANTS.length) {
      t.skip('an earlier test failed to set up the briefing');
      return false;
    }
    return true;
  };

  before(async () => {
    stage = await Stage.open('briefing');
  });

  after(async () => {
    await stage?.close();
  });

  it('participants see the presenter camera and screen', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const opened = await stage.openPage({
        label: 'organiser',
        html: 'briefing',
        role: 'organiser',
        name: 'Организатор О. О.',
        kind: 'briefing',
      });
      await waitInPage(opened.page, 'joining', () => window.profstage?.phase === 'joined');
      await clickTestId(opened.page, 'publish-camera');
      await clickTestId(opened.page, 'share-screen');
      await opened.page.page
        .getByTestId('stop-sharing')
        .waitFor({ state: 'visible', timeout: 20_000 });
      organiser = opened;

      for (const [index, name] of PARTICIPANTS.entries()) {
        const participant = await stage.openPage({
          label: `participant-${index + 1}`,
          html: 'briefing',
          role: 'participant',
          name,
          kind: 'briefing',
        });
        participants.push(participant);
      }
      for (const participant of participants) {
        await waitForLiveTile(participant.page, organiser.identity);
        const received = await waitFor(
          `${participant.page.name} to decode the presenter's camera and screen`,
          () => readReceived(participant.page.page, organiser.identity),
          (r) => r?.camera?.framesDecoded > 0 && r?.screen?.framesDecoded > 0,
        );
        assert.ok(received.audio.length >= 1, 'the presenter is heard');
        const sent = await readSent(participant.page.page);
        assert.equal(sent.camera, null, 'a participant without the floor sends no camera');
        assert.equal(sent.audioTracks, 0, 'a participant without the floor sends no sound');
        const others = participants.filter((p) => p !== participant);
        for (const other of others) {
          const tile = await participant.page.page.$(tileSelector(other.identity));
          assert.equal(tile, null, 'participants do not see each other');
        }
      }
    }),
  );

  it('floor given: everyone receives the speaker', { timeout: TEST_TIMEOUT_MS }, async (t) =>
    stage.step(async () => {
      if (!requireSetup(t)) {
        return;
      }
      const [speaker, ...listeners] = participants;
      const before = await Promise.all(listeners.map((l) => receivingCount(l.page)));

      await clickTestId(speaker.page, 'raise-hand');
      const hand = `[data-testid="hand"][data-identity="${speaker.identity}"]`;
      await organiser.page.page.locator(`${hand} [data-testid="give-floor"]`).click();
      await waitInPage(
        speaker.page,
        'the floor indicator to name the speaker',
        (identity) =>
          document.querySelector('[data-testid="floor-indicator"]')?.dataset.identity ===
          identity,
        speaker.identity,
      );
      await waitFor(
        'the speaker to send camera and microphone',
        () => readSent(speaker.page.page),
        (sent) => sent.camera?.packetsSent > 0 && sent.audioTracks === 1,
      );
      for (const viewer of [...listeners, organiser]) {
        const received = await waitFor(
          `${viewer.page.name} to receive the speaker's video and sound`,
          () => readReceived(viewer.page.page, speaker.identity),
          (r) => r?.camera?.framesDecoded > 0 && r?.audio.some((a) => a.packetsReceived > 0),
          { timeoutMs: 30_000 },
        );
        assert.ok(received.camera.frameWidth > 0);
      }
      const during = await Promise.all(listeners.map((l) => receivingCount(l.page)));
      for (const [index, count] of during.entries()) {
        assert.equal(count, before[index] + 2, 'the speaker adds a video and an audio m-line');
      }

      await clickTestId(organiser.page, 'take-floor');
      for (const [index, listener] of listeners.entries()) {
        await waitInPage(
          listener.page,
          "the speaker's tile to go",
          (selector) => document.querySelector(selector) === null,
          tileSelector(speaker.identity),
        );
        await waitFor(
          `${listener.page.name}'s m-lines of the speaker to go inactive`,
          () => receivingCount(listener.page),
          (count) => count === before[index],
        );
      }
      await waitFor(
        'the speaker to stop sending',
        () => readSent(speaker.page.page),
        (sent) => sent.camera === null && sent.audioTracks === 0,
      );
    }),
  );

  it('chat message reaches everyone', { timeout: TEST_TIMEOUT_MS }, async (t) =>
    stage.step(async () => {
      if (!requireSetup(t)) {
        return;
      }
      const asker = participants[1];
      const text = 'Сколько минут длится второй этап?';
      await asker.page.page.getByTestId('chat-input').fill(text);
      await clickTestId(asker.page, 'chat-send');
      for (const reader of [organiser, ...participants]) {
        await waitInPage(
          reader.page,
          'the chat message to appear',
          ({ identity, text }) =>
            [...document.querySelectorAll('[data-testid="chat-message"]')].some(
              (item) => item.dataset.identity === identity && item.textContent.includes(text),
            ),
          { identity: asker.identity, text },
        );
      }
    }),
  );

  it('resumed participant sees hands, floor and chat', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!requireSetup(t)) {
        return;
      }
      const [first, second, dropped] = participants;
      const giveFloor = async (participant) => {
        await clickTestId(participant.page, 'raise-hand');
        const hand = handSelector(participant.identity);
        await organiser.page.page.locator(`${hand} [data-testid="give-floor"]`).click();
        await waitForFloor(organiser.page, participant.identity);
      };
      await giveFloor(first);
      await waitForFloor(dropped.page, first.identity);
      await waitForLiveTile(dropped.page, first.identity);
      await clickTestId(dropped.page, 'raise-hand');
      await organiser.page.page
        .locator(handSelector(dropped.identity))
        .waitFor({ state: 'visible', timeout: 20_000 });

      await dropped.page.page.evaluate((ms) => window.profstage.simulateNetworkLoss(ms), OUTAGE_MS);
      await waitForStatus(dropped.page, 'reconnecting');
      const offline = Date.now();
      const lower = `${handSelector(dropped.identity)} [data-testid="lower-hand"]`;
      await organiser.page.page.locator(lower).click();
      await giveFloor(second);
      const text = 'Пока вас не было, слово перешло.';
      await organiser.page.page.getByTestId('chat-input').fill(text);
      await clickTestId(organiser.page, 'chat-send');
      await waitInPage(
        organiser.page,
        'the chat message to reach the organiser',
        (text) =>
          [...document.querySelectorAll('[data-testid="chat-message"]')].some((item) =>
            item.textContent.includes(text),
          ),
        text,
      );
      const stale = await briefingView(dropped.page);
      assert.equal(stale.status, 'reconnecting', `changed ${Date.now() - offline} ms offline`);
      assert.equal(stale.floor, first.identity, 'the offline page saw no change');

      await waitForStatus(dropped.page, 'reconnecting', { not: true, timeoutMs: OUTAGE_MS * 3 });
      await waitForLiveTile(dropped.page, second.identity);
      const expected = await briefingView(organiser.page);
      const view = await briefingView(dropped.page);
      assert.equal(view.floor, second.identity, 'the floor moved to the second participant');
      assert.deepEqual(view.speakers, [second.identity], 'the new speaker replaced the old');
      assert.equal(view.raiseHand, true, 'the lowered hand can be raised again');
      assert.equal(view.lowerHand, false, 'the hand is no longer shown raised');
      assert.deepEqual(view.chat, expected.chat, 'the chat matches, without repeats');
      assert.equal(view.chat.at(-1), text);

      // A resume while nothing changes keeps the speaker on the page.
      await dropped.page.page.evaluate(() => window.profstage.simulateNetworkLoss(1_000));
      await waitForStatus(dropped.page, 'reconnecting');
      await waitForStatus(dropped.page, 'reconnecting', { not: true, timeoutMs: 30_000 });
      await waitForLiveTile(dropped.page, second.identity);
      const again = await briefingView(dropped.page);
      assert.equal(again.floor, second.identity);
      assert.deepEqual(again.chat, expected.chat);

      await clickTestId(organiser.page, 'take-floor');
      await waitForFloor(dropped.page, '');
    }),
  );

  it('attendance lists everyone with join and leave times', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!requireSetup(t)) {
        return;
      }
      for (const participant of participants) {
        await clickTestId(participant.page, 'leave');
      }
      await clickTestId(organiser.page, 'attendance-refresh');
      await waitInPage(
        organiser.page,
        'the attendance table to list four people',
        () => document.querySelectorAll('[data-testid="attendance-row"]').length === 4,
      );
      await clickTestId(organiser.page, 'leave');

      const url = `${stage.server.baseUrl}/api/v1/briefings/${stage.room}/attendance`;
      const headers = { Authorization: `Bearer ${organiser.token}` };
      const attendance = await waitFor(
        'everyone to have a leave time',
        async () => (await fetch(url, { headers })).json(),
        (body) =>
          body.people?.length === 4 &&
          body.people.every((p) => p.sessions.at(-1).left_unix_ms !== null),
      );
      const everyone = [organiser, ...participants].map((p) => p.identity).sort();
      assert.deepEqual(attendance.people.map((p) => p.identity).sort(), everyone);
      for (const person of attendance.people) {
        const stay = person.sessions.at(-1);
        assert.ok(stay.joined_unix_ms > 1_600_000_000_000, `${person.name} has a join time`);
        assert.ok(stay.left_unix_ms >= stay.joined_unix_ms, `${person.name} left after joining`);
      }

      const participantToken = participants[0].token;
      const refused = await fetch(url, {
        headers: { Authorization: `Bearer ${participantToken}` },
      });
      assert.equal(refused.status, 403, 'participants may not read attendance');
    }),
  );
});
