// Helpers shared by the publishing and the receiving connection.

// The protocol has no message for trickled ICE candidates, so each SDP is sent once it
// holds all of them. Host candidates take milliseconds; the limit covers a STUN server
// that never answers.
const GATHERING_TIMEOUT_MS = 3000;

/** Resolves when `pc` has gathered its ICE candidates, or after a timeout. */
export function iceGatheringComplete(pc) {
  if (pc.iceGatheringState === 'complete') {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') {
        finish();
      }
    };
    const timer = setTimeout(finish, GATHERING_TIMEOUT_MS);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/** Creates an RTCPeerConnection for the server, which sends all media over one bundle. */
export function createPeerConnection() {
  return new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
}
