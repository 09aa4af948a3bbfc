// A participant whose network lets nothing out but TCP port 443 reaches the server through
// TURN over TLS. The participant's Chromium runs in a network namespace whose firewall
// passes only TCP to port 443 of two host addresses: the server's HTTP on the first and
// coturn's TURN over TLS on the second. The expert's Chromium runs on the host. Needs root,
// to make the namespace and listen on port 443, and coturn. Run from tests/e2e with
// `node --test`; see README.md for the setup.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Coturn, coturnUnavailable } from './support/coturn.mjs';
import { Namespace, namespaceUnavailable } from './support/netns.mjs';
import { expertDecodesCamera, participantPublishes } from './support/pages.mjs';
import { Stage } from './support/stage.mjs';

const TEST_TIMEOUT_MS = 90_000;
const HTTPS_PORT = 443;

// Passes only loopback traffic, replies, and TCP to port 443 of the given addresses.
function onlyHttps(addresses) {
  return `
table inet firewall {
  chain output {
    type filter hook output priority 0; policy drop;
    oifname "lo" accept
    ct state established,related accept
    ip daddr { ${addresses.join(', ')} } tcp dport ${HTTPS_PORT} accept
  }
}
`;
}

const unavailable = namespaceUnavailable() ?? coturnUnavailable();

describe('participant behind a firewall that passes only HTTPS', { skip: unavailable ?? false }, () => {
  let namespace;
  let coturn;
  let stage;
  let participant = null;
  let participantIdentity = null;

  before(async () => {
    namespace = Namespace.create('turn', { extraHostAddresses: 1 });
    const [turnAddress] = namespace.extraHostAddresses;
    namespace.loadRules(onlyHttps([namespace.hostAddress, turnAddress]));
    coturn = await Coturn.start({
      address: turnAddress,
      port: HTTPS_PORT,
      peerAddress: namespace.hostAddress,
    });
    stage = await Stage.open('turn', {
      host: namespace.hostAddress,
      httpPort: HTTPS_PORT,
      env: {
        // Development mode is on by default only on loopback addresses.
        PROFSTAGE_DEV_MODE: 'true',
        PROFSTAGE_TURN_URLS: coturn.url,
        PROFSTAGE_TURN_SHARED_SECRET: coturn.secret,
      },
      browsers: (server) => {
        // Camera capture needs a secure origin, and plain HTTP is one only on localhost.
        const secure = `--unsafely-treat-insecure-origin-as-secure=${server.baseUrl}`;
        // Chromium checks the TURN server's certificate, which the test made itself.
        const trusted = `--ignore-certificate-errors-spki-list=${coturn.spki}`;
        return [
          { executablePath: namespace.chromiumWrapper(), args: [secure, trusted] },
          { args: [secure] },
        ];
      },
    });
  });

  after(async () => {
    if (stage?.failed && coturn) {
      console.error(`coturn log:\n${coturn.logTail()}`);
    }
    await stage?.close();
    await coturn?.stop();
    namespace?.destroy();
  });

  it('participant publishes through TURN over TLS', { timeout: TEST_TIMEOUT_MS }, () =>
    stage.step(async () => {
      const { page, identity, pair } = await participantPublishes(stage);
      const pairText = `selected pair: ${JSON.stringify(pair)}`;
      assert.equal(pair?.local.candidateType, 'relay', pairText);
      assert.equal(pair.local.relayProtocol, 'tls', pairText);
      participant = page;
      participantIdentity = identity;
    }),
  );

  it('credentials are fresh and stay out of the log', { timeout: TEST_TIMEOUT_MS }, (t) =>
    stage.step(async () => {
      if (!participant) {
        t.skip('the participant did not publish');
        return;
      }
      const servers = await participant.page.evaluate(
        () => window.profstage.publisher.getConfiguration().iceServers,
      );
      assert.equal(servers.length, 1, JSON.stringify(servers));
      const [{ urls, username, credential }] = servers;
      assert.deepEqual([urls].flat(), [coturn.url]);
      const [expiry, identity] = username.split(':');
      assert.equal(identity, participantIdentity);
      const lifetime = Number(expiry) - Date.now() / 1000;
      assert.ok(lifetime > 86_000, `credential lifetime ${lifetime} s, expected about 86400`);
      assert.ok(lifetime <= 86_400, `credential lifetime ${lifetime} s, expected about 86400`);

      const log = stage.server.logTail(Number.MAX_SAFE_INTEGER);
      assert.ok(!log.includes(coturn.secret), 'the server log contains the TURN secret');
      assert.ok(!log.includes(credential), 'the server log contains a TURN credential');
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
  console.error(`turn.test.mjs skipped: ${unavailable}`);
}
