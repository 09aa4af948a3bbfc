// A workplace camera over WHIP, and a participant watched over WHEP. A page of the server
// publishes Chromium's fake camera with fetch and RTCPeerConnection, as a browser-based WHIP
// encoder does, with a participant's token. An expert page shows the participant's tile with
// that camera as the second camera and decodes it. Deleting the session shows the
// participant as gone. Then a WHEP player page, with an expert's token, watches a participant
// who publishes from the participant page. Run from tests/e2e with
// `node --test whip.test.mjs`.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { participantPublishes, waitForLiveTile, waitInPage } from './support/pages.mjs';
import { waitFor } from './support/poll.mjs';
import { Stage } from './support/stage.mjs';

const TEST_TIMEOUT_MS = 90_000;

/**
 * Publishes the fake camera from `browserPage` over WHIP with `token`, and returns the
 * reply's status and `Location`. The connection stays in `window.whip`.
 */
function publishOverWhip(browserPage, token) {
  return browserPage.page.evaluate(async (token) => {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true });
    const pc = new RTCPeerConnection();
    pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const response = await fetch('/api/v1/whip', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/sdp' },
      body: pc.localDescription.sdp,
    });
    const body = await response.text();
    if (response.status !== 201) {
      return { status: response.status, body };
    }
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
    const location = response.headers.get('Location');
    window.whip = { pc, location };
    return { status: response.status, location };
  }, token);
}

/** Returns the frames the expert decoded of the second camera in the tile of `identity`. */
function decodedCamera2(expert, identity) {
  return expert.page.evaluate(async (identity) => {
    const pc = window.profstage?.subscriber;
    const tile = document.querySelector(
      `[data-testid="tile"][data-identity="${CSS.escape(identity)}"]`,
    );
    const video = tile?.querySelector('[data-testid="tile-camera2"]');
    const track = video?.srcObject?.getVideoTracks()[0];
    if (!pc || !track) {
      return null;
    }
    const report = await pc.getStats();
    const stats = [...report.values()].find(
      (entry) => entry.type === 'inbound-rtp' && entry.trackIdentifier === track.id,
    );
    return stats ? { frames: stats.framesDecoded ?? 0, width: stats.frameWidth ?? 0 } : null;
  }, identity);
}

/**
 * Sends a WHEP offer with one recvonly video and one recvonly audio m-line from
 * `browserPage` for `identity`, with `token`. Returns the reply's status and `Location`, or
 * its body when it is not 201. The connection stays in `window.whep`.
 */
function watchOverWhep(browserPage, identity, token) {
  return browserPage.page.evaluate(
    async ({ identity, token }) => {
      const pc = new RTCPeerConnection();
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      await pc.setLocalDescription(await pc.createOffer());
      const response = await fetch(`/api/v1/whep/${encodeURIComponent(identity)}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/sdp' },
        body: pc.localDescription.sdp,
      });
      const body = await response.text();
      if (response.status !== 201) {
        pc.close();
        return { status: response.status, body };
      }
      await pc.setRemoteDescription({ type: 'answer', sdp: body });
      const location = response.headers.get('Location');
      window.whep = { pc, location };
      return { status: response.status, location };
    },
    { identity, token },
  );
}

/** Returns the video frames decoded and audio packets received by the WHEP player. */
function whepReceived(player) {
  return player.page.evaluate(async () => {
    const report = await window.whep.pc.getStats();
    const inbound = [...report.values()].filter((entry) => entry.type === 'inbound-rtp');
    const video = inbound.find((entry) => entry.kind === 'video');
    const audio = inbound.find((entry) => entry.kind === 'audio');
    return {
      frames: video?.framesDecoded ?? 0,
      width: video?.frameWidth ?? 0,
      audioPackets: audio?.packetsReceived ?? 0,
    };
  });
}

describe('workplace camera over WHIP', () => {
  let stage;

  before(async () => {
    stage = await Stage.open('whip');
  });

  after(async () => {
    await stage?.close();
  });

  it('expert sees the WHIP camera in the tile', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const expert = await stage.openPage({
        label: 'expert',
        html: 'expert',
        role: 'expert',
        name: 'Эксперт',
      });
      const { token, identity } = await stage.server.devToken(
        stage.room,
        'Верстакова Ольга',
        'participant',
      );
      const encoder = await stage.browser.openPage('whip-encoder', `${stage.server.baseUrl}/`);
      const published = await publishOverWhip(encoder, token);
      assert.equal(published.status, 201, JSON.stringify(published));
      assert.match(published.location, /^\/api\/v1\/whip\/sessions\/[0-9a-f]+$/);

      await waitForLiveTile(expert.page, identity);
      const decoded = await waitFor(
        'the expert to decode the workplace camera',
        () => decodedCamera2(expert.page, identity),
        (camera2) => camera2?.frames > 10,
        { timeoutMs: 20_000, intervalMs: 250 },
      );
      assert.ok(decoded.width > 0, JSON.stringify(decoded));

      const status = await encoder.page.evaluate(async (token) => {
        const response = await fetch(window.whip.location, {
          method: 'DELETE',
          headers: { Authorization: `Bearer ${token}` },
        });
        window.whip.pc.close();
        return response.status;
      }, token);
      assert.equal(status, 200);
      await waitInPage(
        expert.page,
        'the tile to show the participant as gone once the session ended',
        (identity) => {
          const selector = `[data-testid="tile"][data-identity="${CSS.escape(identity)}"]`;
          return document.querySelector(selector)?.dataset.state === 'disconnected';
        },
        identity,
      );
    }),
  );

  it('expert watches a participant over WHEP', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const { identity } = await participantPublishes(stage);
      const player = await stage.browser.openPage('whep-player', `${stage.server.baseUrl}/`);

      const participant = await stage.server.devToken(stage.room, 'Ученик', 'participant');
      const rejected = await watchOverWhep(player, identity, participant.token);
      assert.equal(rejected.status, 403, JSON.stringify(rejected));

      const expert = await stage.server.devToken(stage.room, 'Эксперт по WHEP', 'expert');
      const watched = await watchOverWhep(player, identity, expert.token);
      assert.equal(watched.status, 201, JSON.stringify(watched));
      assert.match(watched.location, /^\/api\/v1\/whep\/sessions\/[0-9a-f]+$/);
      const received = await waitFor(
        'the WHEP player to decode the camera and receive the microphone',
        () => whepReceived(player),
        (got) => got.frames > 10 && got.audioPackets > 0,
        { timeoutMs: 20_000, intervalMs: 250 },
      );
      assert.ok(received.width > 0, JSON.stringify(received));

      const status = await player.page.evaluate(async (token) => {
        const response = await fetch(window.whep.location, {
          method: 'DELETE',
          headers: { Authorization: `Bearer ${token}` },
        });
        return response.status;
      }, expert.token);
      assert.equal(status, 200);
      await waitFor(
        'the WHEP player to stop receiving once its session ended',
        async () => {
          const first = await whepReceived(player);
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          return { first, second: await whepReceived(player) };
        },
        ({ first, second }) => second.frames === first.frames,
        { timeoutMs: 10_000, intervalMs: 250 },
      );
    }),
  );
});
