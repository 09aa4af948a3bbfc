// Helpers shared by the publishing and the receiving connection.

// The server is an ICE-lite agent: it never sends connectivity checks, and learns each
// browser address from the checks the browser sends it. SDP therefore goes out at once,
// without waiting for the browser's own candidates.

/** Creates an RTCPeerConnection for the server, which sends all media over one bundle. */
export function createPeerConnection() {
  return new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
}
