// Talk between experts and a participant. An expert presses "talk" on the participant's
// tile, the participant sees and hears the expert, a second expert hears them, and another
// participant gets nothing of the talk. An expert who joins during the talk sees it on the
// participant's tile. The other experts see the talker's camera in a corner of the
// participant's tile, and the talker sees their own camera there. The expert stops and
// then publishes nothing more. The participant's recording contains the talk audio and
// video and the talk's start and end. An organiser who talks without a camera is heard,
// and the pages say that the talk is audio only.
// Needs ffmpeg and ffprobe on PATH. Run from tests/e2e with `node --test talk.test.mjs`.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { clickTestId, joinAndPublish, waitForLiveTile, waitInPage } from './support/pages.mjs';
import { waitFor } from './support/poll.mjs';
import { RecordingApi, decodeErrors } from './support/recordings.mjs';
import { sleep } from './support/server.mjs';
import { Stage } from './support/stage.mjs';
import { MIN_TILE_WIDTH, readTileBar } from './support/tile-bar.mjs';

const run = promisify(execFile);

const SERVER_ENV = { PROFSTAGE_SIGNALLING_REJOIN_GRACE_SECS: '2' };
const EXPERT_NAME = 'Говорунов Пётр';
const TALK_MS = 6_000;
// Talk segments are placed by the expert's sender clock. They must lie within the talk's
// events, give or take this much.
const SYNC_TOLERANCE_MS = 1_500;
const TEST_TIMEOUT_MS = 120_000;

/** Clicks the talk button on the tile of `identity`. */
async function pressTalk(expert, identity) {
  const tile = expert.page.locator(
    `[data-testid="tile"][data-identity="${identity}"] [data-testid="talk"]`,
  );
  await tile.click({ timeout: 20_000 });
}

function tileSelector(identity) {
  return `[data-testid="tile"][data-identity="${identity}"]`;
}

/** Waits until the tile of `identity` names `talker` as talking, or nobody for null. */
function waitForTileTalk(page, identity, talker) {
  return waitInPage(
    page,
    `the tile of ${identity} to show talker ${talker}`,
    ({ identity, talker }) => {
      const selector = `[data-testid="tile"][data-identity="${CSS.escape(identity)}"]`;
      const label = document.querySelector(`${selector} [data-testid="tile-talk"]`);
      if (!label) {
        return false;
      }
      return talker === null ? label.hidden : !label.hidden && label.dataset.talker === talker;
    },
    { identity, talker },
  );
}

/**
 * Returns inbound-rtp statistics of the talk audio a page plays:
 * `[{packetsReceived, totalAudioEnergy}]`, one entry per talk track.
 */
function readTalkAudio(page) {
  return page.page.evaluate(async () => {
    const pc = window.profstage?.subscriber;
    const box = document.querySelector('[data-testid="talk-audio"]');
    if (!pc || !box) {
      return [];
    }
    const report = await pc.getStats();
    const inbound = [...report.values()].filter((stats) => stats.type === 'inbound-rtp');
    const tracks = [...box.querySelectorAll('audio')].flatMap(
      (audio) => audio.srcObject?.getAudioTracks() ?? [],
    );
    return tracks.map((track) => {
      const stats = inbound.find((entry) => entry.trackIdentifier === track.id);
      return {
        packetsReceived: stats?.packetsReceived ?? 0,
        totalAudioEnergy: stats?.totalAudioEnergy ?? 0,
      };
    });
  });
}

/**
 * Returns the talk video a participant's page shows: `{shown, width, time}`, where `shown`
 * is whether the panel and the video are visible, `width` the video's width in pixels and
 * `time` its current time in seconds.
 */
function readTalkVideo(page) {
  return page.page.evaluate(() => {
    const panel = document.querySelector('[data-testid="talk-media"]');
    const video = document.querySelector('[data-testid="talk-video"]');
    return {
      shown: Boolean(panel && video && !panel.hidden && !video.hidden),
      width: video?.srcObject ? video.videoWidth : 0,
      time: video?.srcObject ? video.currentTime : 0,
    };
  });
}

/** Waits until the talk video of a participant's page shows frames that advance. */
async function waitForTalkFrames(page) {
  const first = await waitFor(
    `${page.name} to show the talk video`,
    () => readTalkVideo(page),
    (video) => video.shown && video.width > 0 && video.time > 0,
    { timeoutMs: 20_000, intervalMs: 250 },
  );
  await waitFor(
    `the talk video of ${page.name} to advance`,
    () => readTalkVideo(page),
    (video) => video.shown && video.time > first.time + 0.5,
    { timeoutMs: 10_000, intervalMs: 250 },
  );
}

/**
 * Returns the talk inset on the tile of `identity` as the test hooks of an expert's page
 * report it: `{talker, name, self, video, audioOnly, videoWidth}`, or null without one.
 */
function readTalkInset(page, identity) {
  return page.page.evaluate((identity) => window.profstage.talkInsets[identity] ?? null, identity);
}

/** Waits until the talk inset on the tile of `identity` shows decoded frames of `talker`. */
function waitForInsetFrames(page, identity, talker) {
  return waitFor(
    `${page.name} to show the camera of ${talker} on the tile of ${identity}`,
    () => readTalkInset(page, identity),
    (inset) => inset?.talker === talker && inset.video && inset.videoWidth > 0,
    { timeoutMs: 20_000, intervalMs: 250 },
  );
}

/** Waits until the tile of `identity` has no talk inset. */
function waitForNoInset(page, identity) {
  return waitFor(
    `the talk inset to go from the tile of ${identity} on ${page.name}`,
    () => readTalkInset(page, identity),
    (inset) => inset === null,
    { timeoutMs: 10_000, intervalMs: 250 },
  );
}

/** Returns the number of video packets the receiving connection of a page got. */
function receivedVideoPackets(page) {
  return page.page.evaluate(async () => {
    const pc = window.profstage?.subscriber;
    if (!pc) {
      return 0;
    }
    const report = await pc.getStats();
    const video = [...report.values()].filter(
      (stats) => stats.type === 'inbound-rtp' && stats.kind === 'video',
    );
    return video.reduce((sum, stats) => sum + (stats.packetsReceived ?? 0), 0);
  });
}

/** Returns an `initScript` that makes every camera request fail as if there were none. */
function noCameraScript() {
  return () => {
    const devices = navigator.mediaDevices;
    const getUserMedia = devices.getUserMedia.bind(devices);
    devices.getUserMedia = async (constraints) => {
      if (constraints?.video) {
        throw new DOMException('this test page has no camera', 'NotFoundError');
      }
      return getUserMedia(constraints);
    };
  };
}

/** Returns the directions of the publishing connection's transceivers with a track. */
function sendingTransceivers(page) {
  return page.page.evaluate(() => {
    const pc = window.profstage?.publisher;
    const transceivers = pc ? pc.getTransceivers() : [];
    return transceivers
      .filter((t) => t.sender.track !== null || t.currentDirection === 'sendonly')
      .map((t) => ({ mid: t.mid, direction: t.currentDirection, track: t.sender.track?.kind }));
  });
}

describe('talk between an expert and a participant', () => {
  let stage;
  let participant = null;
  let bystander = null;
  let talker = null;
  let listener = null;
  let talk = null;

  /** Opens expert.html for a new person in `role`: an expert or an organiser. */
  const openExpertPage = (label, role, name) =>
    stage.openPage({ label, html: 'expert', role, name });

  /** Opens participant.html for a new participant, who joins and publishes. */
  const openParticipant = async (label, name) => {
    const opened = await stage.openPage({ label, html: 'participant', role: 'participant', name });
    await joinAndPublish(opened.page);
    return opened;
  };

  before(async () => {
    stage = await Stage.open('talk', { env: SERVER_ENV });
  });

  after(async () => {
    await stage?.close();
  });

  it('participant sees and hears the expert who talks', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      participant = await openParticipant('participant', 'Слушаева Анна');
      bystander = await openParticipant('participant-bystander', 'Сторонний Олег');
      talker = await stage.openPage({
        label: 'expert-talker',
        html: 'expert',
        role: 'expert',
        name: EXPERT_NAME,
      });
      listener = await stage.openPage({
        label: 'expert-listener',
        html: 'expert',
        role: 'expert',
        name: 'Слушающий эксперт',
      });
      await waitForLiveTile(talker.page, participant.identity);
      await waitForLiveTile(listener.page, participant.identity);
      assert.deepEqual(await sendingTransceivers(talker.page), [], 'an idle expert publishes');

      const startedAt = Date.now();
      await pressTalk(talker.page, participant.identity);
      await waitForTileTalk(talker.page, participant.identity, talker.identity);
      await waitForTileTalk(listener.page, participant.identity, talker.identity);
      await waitInPage(participant.page, 'the talk notice', () => {
        const notice = document.querySelector('[data-testid="talk-notice"]');
        return notice && !notice.hidden && notice.textContent.length > 0;
      });
      const notice = await participant.page.page.getByTestId('talk-notice').textContent();
      assert.ok(notice.includes(EXPERT_NAME), `the notice names the expert: ${notice}`);

      for (const page of [participant.page, listener.page]) {
        const heard = await waitFor(
          `${page.name} to receive audible talk audio`,
          () => readTalkAudio(page),
          (audio) => audio.some((a) => a.packetsReceived > 50 && a.totalAudioEnergy > 0),
          { timeoutMs: 20_000, intervalMs: 250 },
        );
        assert.equal(heard.length, 1, `one talk track: ${JSON.stringify(heard)}`);
      }
      await waitForTalkFrames(participant.page);

      // The other expert sees the talker's camera in the corner of the participant's tile,
      // and the talker sees their own camera there.
      const seen = await waitForInsetFrames(listener.page, participant.identity, talker.identity);
      assert.equal(seen.name, EXPERT_NAME, `the inset names the talker: ${JSON.stringify(seen)}`);
      assert.equal(seen.self, false, JSON.stringify(seen));
      assert.equal(seen.audioOnly, false, JSON.stringify(seen));
      const own = await waitForInsetFrames(talker.page, participant.identity, talker.identity);
      assert.equal(own.self, true, `the talker's inset is a self-view: ${JSON.stringify(own)}`);
      // The longer label of the talk button still fits the narrowest tile.
      const bar = await readTileBar(talker.page, participant.identity, MIN_TILE_WIDTH);
      assert.equal(bar.nameCut, false, 'the name is cut in the narrowest tile while talking');
      assert.deepEqual(bar.cut, [], 'controls cut off in the narrowest tile while talking');
      assert.ok(own.name.includes(EXPERT_NAME), `the self-view names the talker: ${own.name}`);
      const ownTrack = await talker.page.page.evaluate((identity) => {
        const selector = `[data-testid="tile"][data-identity="${CSS.escape(identity)}"]`;
        const video = document.querySelector(`${selector} [data-testid="tile-talk-inset-video"]`);
        const track = video?.srcObject?.getVideoTracks()[0];
        const sent = window.profstage.publisher
          ?.getSenders()
          .some((sender) => sender.track === track);
        return { muted: video?.muted, local: Boolean(track) && sent };
      }, participant.identity);
      const expected = { muted: true, local: true };
      assert.deepEqual(ownTrack, expected, 'the self-view shows the camera it sends');
      const audioOnly = participant.page.page.getByTestId('talk-audio-only');
      assert.equal(await audioOnly.isHidden(), true, 'the talk with a camera is audio only');
      // Another participant receives no video at all: nobody else publishes to them.
      assert.equal((await readTalkVideo(bystander.page)).shown, false);
      assert.equal(await receivedVideoPackets(bystander.page), 0, 'the bystander gets video');
      assert.deepEqual(await readTalkAudio(bystander.page), [], 'the bystander hears the talk');

      // An expert who joins now learns of the talk from `welcome` alone.
      const late = await openExpertPage('expert-late', 'expert', 'Опоздавший эксперт');
      await waitForTileTalk(late.page, participant.identity, talker.identity);
      await waitForInsetFrames(late.page, participant.identity, talker.identity);
      const tile = late.page.page.locator(tileSelector(participant.identity));
      const label = await tile.getByTestId('tile-talk').textContent();
      assert.ok(label.includes(EXPERT_NAME), `the late expert's label names the talker: ${label}`);
      assert.ok(/\d{2}:\d{2}:\d{2}/.test(label), `the label gives the start time: ${label}`);
      assert.equal(await tile.getByTestId('talk').isDisabled(), true, "another's talk is busy");
      await sleep(startedAt + TALK_MS - Date.now());

      await pressTalk(talker.page, participant.identity);
      for (const page of [talker.page, listener.page, late.page]) {
        await waitForTileTalk(page, participant.identity, null);
        await waitForNoInset(page, participant.identity);
      }
      const insetShown = await listener.page.page
        .locator(`${tileSelector(participant.identity)} [data-testid="tile-talk-inset"]`)
        .isVisible();
      assert.equal(insetShown, false, 'the talk inset is visible after the talk');
      await waitInPage(participant.page, 'the talk notice to go', () =>
        document.querySelector('[data-testid="talk-notice"]').hidden,
      );
      await waitFor(
        'the expert to stop sending',
        () => sendingTransceivers(talker.page),
        (sending) => sending.every((t) => t.direction !== 'sendonly' && !t.track),
      );
      await waitFor(
        'the talk video to go from the participant page',
        () => readTalkVideo(participant.page),
        (video) => !video.shown && video.width === 0,
      );
      const before = await readTalkAudio(participant.page);
      await sleep(1_500);
      const afterStop = await readTalkAudio(participant.page);
      const received = (audio) => audio.reduce((sum, a) => sum + a.packetsReceived, 0);
      assert.ok(
        received(afterStop) <= received(before),
        `talk audio after the stop: ${JSON.stringify({ before, afterStop })}`,
      );
      talk = { startedAt };
    }),
  );

  it('recording contains talk audio and events', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!talk) {
        t.skip('the talk did not happen');
        return;
      }
      await clickTestId(participant.page, 'leave');
      const api = await RecordingApi.as(stage.server, stage.room);
      const summary = await waitFor(
        'the participant recording to complete',
        () => api.list(stage.room),
        (list) =>
          list.find((r) => r.participant === participant.identity)?.status === 'complete',
        { timeoutMs: 40_000, intervalMs: 500 },
      ).then((list) => list.find((r) => r.participant === participant.identity));
      const manifest = await api.manifest(summary.id);

      const talkSegments = manifest.segments.filter((s) => s.source === 'talk');
      assert.ok(talkSegments.length >= 1, `segments: ${JSON.stringify(manifest.segments)}`);
      assert.ok(talkSegments.every((s) => s.codec === 'opus'), JSON.stringify(talkSegments));
      const events = manifest.events.filter((e) => e.source === 'talk');
      const kinds = events.map((e) => e.kind);
      assert.ok(kinds.includes('talk_started'), `events: ${JSON.stringify(manifest.events)}`);
      assert.ok(kinds.includes('talk_ended'), `events: ${JSON.stringify(manifest.events)}`);
      const started = events.find((e) => e.kind === 'talk_started');
      const ended = events.find((e) => e.kind === 'talk_ended');
      assert.equal(started.detail, EXPERT_NAME);
      assert.ok(ended.at_unix_ms - started.at_unix_ms >= TALK_MS - 2_000);

      const talkStart = Math.min(...talkSegments.map((s) => s.started_unix_ms));
      const talkEnd = Math.max(...talkSegments.map((s) => s.started_unix_ms + s.duration_ms));
      assert.ok(
        talkStart >= started.at_unix_ms - SYNC_TOLERANCE_MS,
        `talk audio starts at ${talkStart}, the talk at ${started.at_unix_ms}`,
      );
      assert.ok(
        talkEnd <= ended.at_unix_ms + SYNC_TOLERANCE_MS,
        `talk audio ends at ${talkEnd}, the talk at ${ended.at_unix_ms}`,
      );
      assert.ok(talkEnd - talkStart >= TALK_MS - 3_000, `talk audio ${talkEnd - talkStart} ms`);

      const videoSegments = manifest.segments.filter((s) => s.source === 'talk-video');
      assert.ok(videoSegments.length >= 1, `segments: ${JSON.stringify(manifest.segments)}`);
      assert.ok(videoSegments.every((s) => s.width > 0), JSON.stringify(videoSegments));
      const videoStart = Math.min(...videoSegments.map((s) => s.started_unix_ms));
      assert.ok(
        videoStart >= started.at_unix_ms - SYNC_TOLERANCE_MS,
        `talk video starts at ${videoStart}, the talk at ${started.at_unix_ms}`,
      );

      const verify = await api.verify(summary.id);
      assert.equal(verify.ok, true, `verify: ${JSON.stringify(verify.problems)}`);
      assert.ok(manifest.media?.talk, `media: ${JSON.stringify(manifest.media)}`);
      const dir = fs.mkdtempSync(path.join(stage.server.dataDir, 'talk-'));
      const file = path.join(dir, 'talk.webm');
      await api.download(manifest.media.talk, file);
      const { stdout } = await run('ffprobe', [
        ...['-v', 'error', '-show_streams', '-of', 'json', file],
      ]);
      const streams = JSON.parse(stdout).streams.map((s) => `${s.codec_type}/${s.codec_name}`);
      assert.equal(streams.length, 2, `streams: ${streams}`);
      assert.ok(streams.includes('audio/opus'), `streams: ${streams}`);
      assert.ok(streams.some((s) => s.startsWith('video/')), `streams: ${streams}`);
      assert.equal(await decodeErrors(file), '');
      talk.recording = summary.id;
      talk.mediaStartS = Math.min(...talkSegments.map((s) => s.media_start_ms)) / 1000;
    }),
  );

  it('review page plays the talk with the camera', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!talk?.recording) {
        t.skip('no recording to review');
        return;
      }
      const { token } = await stage.server.devToken(stage.room, 'Рецензент', 'expert');
      const url = `${stage.server.baseUrl}/review.html#token=${token}&recording=${talk.recording}`;
      const review = await stage.browser.openPage('review', url);
      await waitInPage(review, 'the recording to load', () => {
        const state = window.profstage.review.state().recording;
        return state?.phase === 'ready' && state.ready === true;
      });
      const state = () => review.page.evaluate(() => window.profstage.review.state().recording);
      const loaded = await state();
      assert.equal(loaded.master, 'camera', JSON.stringify(loaded));
      assert.ok(loaded.sources.talk, JSON.stringify(loaded));
      assert.equal(loaded.sources.talk.failed, false, JSON.stringify(loaded.sources.talk));
      assert.equal(loaded.sources.talk.muted, false, 'the talk is heard');
      assert.equal(loaded.sources.camera.muted, false, 'the participant is heard');

      // The talk's events on the timeline are named in the page's language.
      const markers = () =>
        review.page.evaluate(() =>
          [...document.querySelectorAll('[data-testid="timeline-event"]')].map((marker) => ({
            kind: marker.dataset.kind,
            text: marker.getAttribute('aria-label'),
          })),
        );
      const named = async (expected) => {
        const shown = await markers();
        const text = (kind) => shown.find((marker) => marker.kind === kind)?.text ?? '';
        assert.ok(text('talk_started').includes(expected.started), JSON.stringify(shown));
        assert.ok(text('talk_started').includes(EXPERT_NAME), JSON.stringify(shown));
        assert.ok(text('talk_ended').includes(expected.ended), JSON.stringify(shown));
        // The text is the time, then the event's name: a raw kind would follow the time.
        const raw = shown.filter((marker) => marker.text.split(' ')[1] === marker.kind);
        assert.deepEqual(raw, [], 'every event is translated');
      };
      await named({ started: 'Начало разговора', ended: 'Конец разговора' });
      await clickTestId(review, 'language');
      try {
        await named({ started: 'Talk started', ended: 'Talk ended' });
      } finally {
        await clickTestId(review, 'language'); // the choice is kept for later pages
      }

      // Played from the start, the talk is not seeked to before its first frame, which
      // would fail the file for good.
      t.diagnostic(`talk starts ${talk.mediaStartS} s into the recording`);
      assert.ok(talk.mediaStartS > 2, `the talk starts at ${talk.mediaStartS} s`);
      await clickTestId(review, 'play');
      await waitInPage(review, 'playback to pass 1.5 s', () => {
        return window.profstage.review.currentTime() > 1.5;
      });
      const early = await state();
      await clickTestId(review, 'play'); // pauses
      assert.equal(early.sources.talk.failed, false, JSON.stringify(early.sources.talk));
      assert.equal(early.sources.talk.error, null, JSON.stringify(early.sources.talk));

      // Both sides play together within the talk.
      const from = talk.mediaStartS + 1;
      await review.page.evaluate((seconds) => window.profstage.review.seek(seconds), from);
      await clickTestId(review, 'play');
      await waitInPage(
        review,
        'playback to pass 2 s into the talk',
        (seconds) => window.profstage.review.currentTime() > seconds,
        from + 1,
      );
      const playing = await state();
      const drift = Math.abs(playing.sources.talk.currentTime - playing.currentTime);
      assert.ok(playing.currentTime < playing.sources.talk.duration, JSON.stringify(playing));
      assert.ok(drift < 0.5, `talk ${drift} s away: ${JSON.stringify(playing)}`);
      assert.equal(playing.sources.talk.paused, false);
      const talkWidth = await review.page.evaluate(
        () => document.querySelector('[data-testid="video-talk"]').videoWidth,
      );
      assert.ok(talkWidth > 0, 'the review page shows the talker');
    }),
  );

  it('organiser without camera talks with audio only', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const talkedTo = await openParticipant('participant-talked-to', 'Собеседникова Ирина');
      const organiser = await stage.openPage({
        label: 'organiser',
        html: 'expert',
        role: 'organiser',
        name: 'Организаторова Ольга',
        initScript: noCameraScript(),
      });
      await waitForLiveTile(organiser.page, talkedTo.identity);
      await pressTalk(organiser.page, talkedTo.identity);

      // The organiser learns that the participant only hears them.
      await waitInPage(organiser.page, 'the no-camera notice', () => {
        const notice = document.querySelector('[data-testid="talk-no-camera"]');
        return notice && !notice.hidden && notice.textContent.length > 0;
      });
      const noCamera = await organiser.page.page.getByTestId('talk-no-camera').textContent();
      assert.equal(noCamera, 'Ваша камера недоступна, поэтому участник вас только слышит.');

      // The participant hears the organiser and reads that the talk is audio only.
      await waitFor(
        'the participant to hear the organiser',
        () => readTalkAudio(talkedTo.page),
        (audio) => audio.some((a) => a.packetsReceived > 50),
        { timeoutMs: 20_000, intervalMs: 250 },
      );
      const audioOnly = talkedTo.page.page.getByTestId('talk-audio-only');
      await audioOnly.waitFor({ state: 'visible', timeout: 10_000 });
      assert.ok((await audioOnly.textContent()).includes('камеры нет'));
      assert.equal((await readTalkVideo(talkedTo.page)).shown, false, 'a talk video is shown');
      await clickTestId(talkedTo.page, 'language');
      try {
        const english = await audioOnly.textContent();
        assert.ok(english.includes('the talk is audio only'), english);
      } finally {
        await clickTestId(talkedTo.page, 'language'); // the choice is kept for later pages
      }
      // The talk panel shows the organiser, so they get no tile of their own.
      const tiles = await talkedTo.page.page.evaluate(() => window.profstage.tiles);
      assert.equal(tiles[organiser.identity], undefined, JSON.stringify(tiles));

      // An expert's page has a tile for the organiser, in the state talk-audio.
      const organiserTile = tileSelector(organiser.identity);
      await waitInPage(
        listener.page,
        "the organiser's tile to show talk audio",
        (selector) => document.querySelector(selector)?.dataset.state === 'talk-audio',
        organiserTile,
      );
      const stateText = listener.page.page.locator(`${organiserTile} .tile-state`);
      assert.equal(await stateText.textContent(), 'Только звук разговора');

      // The participant's tile names the organiser and says that the talk is audio only.
      const inset = await waitFor(
        'the talk inset to say that the talk is audio only',
        () => readTalkInset(listener.page, talkedTo.identity),
        (inset) => inset?.audioOnly === true,
        { timeoutMs: 20_000, intervalMs: 250 },
      );
      assert.equal(inset.name, 'Организаторова Ольга', JSON.stringify(inset));
      assert.equal(inset.video, false, `an audio-only talk shows video: ${JSON.stringify(inset)}`);
      const ownInset = await readTalkInset(organiser.page, talkedTo.identity);
      assert.equal(ownInset?.self, true, JSON.stringify(ownInset));
      assert.equal(ownInset.audioOnly, true, JSON.stringify(ownInset));
      assert.equal(ownInset.video, false, JSON.stringify(ownInset));
      const seen = await bystander.page.page.evaluate(() => window.profstage.tiles);
      assert.equal(seen[organiser.identity], undefined, `another participant's tiles: ${
        JSON.stringify(seen)}`);
      assert.equal(await talkedTo.page.page.getByTestId('talk-media').isHidden(), false);

      await pressTalk(organiser.page, talkedTo.identity);
      await waitInPage(talkedTo.page, 'the talk panel to go', () =>
        document.querySelector('[data-testid="talk-media"]').hidden,
      );
      await waitInPage(organiser.page, 'the no-camera notice to go', () =>
        document.querySelector('[data-testid="talk-no-camera"]').hidden,
      );
      await waitForNoInset(listener.page, talkedTo.identity);
    }),
  );
});
