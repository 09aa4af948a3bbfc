// A participant whose network blocks UDP reaches the server over ICE-TCP. The participant's
// Chromium runs in a network namespace whose firewall drops every UDP packet; the expert's
// runs on the host. Needs root, to make the namespace. Run from tests/e2e with `node --test`;
// see README.md for the setup.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Namespace, namespaceUnavailable } from './support/netns.mjs';
import { expertDecodesCamera, participantPublishes } from './support/pages.mjs';
import { freeTcpPort } from './support/server.mjs';
import { Stage } from './support/stage.mjs';

const TEST_TIMEOUT_MS = 90_000;

// Drops every UDP packet the namespace sends, except on its loopback interface.
const NO_UDP = `
table inet firewall {
  chain output {
    type filter hook output priority 0; policy accept;
    oifname "lo" accept
    meta l4proto udp drop
  }
}
`;

const unavailable = namespaceUnavailable();

describe('participant behind a firewall that blocks UDP', { skip: unavailable ?? false }, () => {
  let namespace;
  let stage;
  let participant = null;
  let participantIdentity = null;

  before(async () => {
    namespace = Namespace.create('tcp');
    namespace.loadRules(NO_UDP);
    const tcpPort = await freeTcpPort();
    stage = await Stage.open('ice-tcp', {
      host: namespace.hostAddress,
      env: {
        // Development mode is on by default only on loopback addresses.
        PROFSTAGE_DEV_MODE: 'true',
        PROFSTAGE_MEDIA_TCP_LISTEN: `${namespace.hostAddress}:${tcpPort}`,
      },
      browsers: (server) => {
        // Camera capture needs a secure origin, and plain HTTP is one only on localhost.
        const args = [`--unsafely-treat-insecure-origin-as-secure=${server.baseUrl}`];
        return [{ executablePath: namespace.chromiumWrapper(), args }, { args }];
      },
    });
  });

  after(async () => {
    await stage?.close();
    namespace?.destroy();
  });

  it('participant publishes over TCP', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const { page, identity, pair } = await participantPublishes(stage);
      assert.equal(pair?.local.protocol, 'tcp', `selected pair: ${JSON.stringify(pair)}`);
      assert.equal(pair.remote.protocol, 'tcp', `selected pair: ${JSON.stringify(pair)}`);
      assert.equal(pair.remote.candidateType, 'host', `selected pair: ${JSON.stringify(pair)}`);
      participant = page;
      participantIdentity = identity;
    }),
  );

  it('expert decodes the participant camera', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!participant) {
        t.skip('the participant did not publish');
        return;
      }
      await expertDecodesCamera(stage, participantIdentity, stage.browsers[1]);
    }),
  );
});

if (unavailable) {
  console.error(`ice-tcp.test.mjs skipped: ${unavailable}`);
}
