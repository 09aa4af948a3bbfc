// Helpers shared by the publishing and the receiving connection.

// The server is an ICE-lite agent: it never sends connectivity checks, and learns each
// browser address from the checks the browser sends it, also those relayed by a TURN
// server. SDP therefore goes out at once, without waiting for the browser's own candidates.

// NOTE: a connection keeps the TURN credentials it was made with. They outlast a session
// by default (turn.credential_ttl_secs), but an ICE restart after they expire gets no relay.
let iceServers = [];

/**
 * Keeps the TURN servers and credentials of the latest `welcome` for the connections made
 * from now on. The server hands out fresh credentials with each `welcome`.
 */
export function useIceServers(servers) {
  iceServers = (servers ?? []).map(({ urls, username, credential }) => ({
    urls,
    username,
    credential,
  }));
}

/** Creates an RTCPeerConnection for the server, which sends all media over one bundle. */
export function createPeerConnection() {
  return new RTCPeerConnection({
    bundlePolicy: 'max-bundle',
    rtcpMuxPolicy: 'require',
    iceServers,
  });
}
