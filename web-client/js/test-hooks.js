// `window.profstage`: read-only hooks for end-to-end tests. No UI depends on them.
//   publisher   the publishing RTCPeerConnection, or null
//   subscriber  the receiving RTCPeerConnection, or null
//   tiles       the state of each tile by identity: connecting, live, no-video,
//               talk-audio, reconnecting, disconnected
//   talkInsets  the talker's camera in the corner of each tile talked to, by identity:
//               {talker, name, self, video, audioOnly, videoWidth}
//   phase       the session phase: idle, connecting, joined, ended
//   simulateNetworkLoss(ms)  drops the socket and the publishing connection for `ms`
//   restartIce()             restarts ICE on the publishing connection

/**
 * Publishes the hooks for a page.
 * @param {() => object|null} currentSession returns the page's current Session
 * @param {object|null} grid the page's TileGrid, if it has one
 */
export function exposeTestHooks(currentSession, grid) {
  window.profstage = Object.freeze({
    get publisher() {
      return currentSession()?.publisher?.pc ?? null;
    },
    get subscriber() {
      return currentSession()?.subscriber?.pc ?? null;
    },
    get tiles() {
      return grid ? grid.summary() : {};
    },
    get talkInsets() {
      return grid ? grid.talkInsets() : {};
    },
    get phase() {
      return currentSession()?.phase ?? 'idle';
    },
    simulateNetworkLoss(offlineMs) {
      currentSession()?.simulateNetworkLoss(offlineMs);
    },
    restartIce() {
      return currentSession()?.restartIce();
    },
  });
}
