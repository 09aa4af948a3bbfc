// WebRTC statistics read inside the pages through the `window.profstage` test hooks.
//
// The functions passed to `page.evaluate` run in the browser, so they use nothing from this
// module's scope.

/**
 * Returns what the publishing connection sends, per video source:
 * `{camera, screen, audioTracks}`. Each video entry sums the sender's outbound-rtp
 * `{framesEncoded, keyFramesEncoded, keyframeRequests, packetsSent}` over its simulcast
 * layers. It gives the `frameWidth` and `frameHeight` of the largest active layer, and in
 * `layers` the `{rid, active, frameWidth, frameHeight}` of each layer. It is null when
 * that source is not being sent. `keyframeRequests` counts the PLI and FIR messages the
 * sender received. A video track from getDisplayMedia is the screen: only such tracks have
 * `displaySurface` in their settings.
 */
export async function readSent(page) {
  return page.evaluate(async () => {
    const pc = window.profstage?.publisher;
    const sent = { camera: null, screen: null, audioTracks: 0 };
    if (!pc) {
      return sent;
    }
    for (const sender of pc.getSenders()) {
      const track = sender.track;
      if (!track || track.readyState !== 'live') {
        continue;
      }
      if (track.kind === 'audio') {
        sent.audioTracks += 1;
        continue;
      }
      const source = 'displaySurface' in track.getSettings() ? 'screen' : 'camera';
      const report = await sender.getStats();
      const outbound = [...report.values()].filter((stats) => stats.type === 'outbound-rtp');
      if (outbound.length === 0) {
        sent[source] = null;
        continue;
      }
      const sum = (field) => outbound.reduce((total, stats) => total + (stats[field] ?? 0), 0);
      const layers = outbound.map((stats) => ({
        rid: stats.rid ?? null,
        active: stats.active !== false,
        frameWidth: stats.frameWidth ?? 0,
        frameHeight: stats.frameHeight ?? 0,
      }));
      const largest = layers
        .filter((layer) => layer.active)
        .reduce((best, layer) => (layer.frameWidth > best.frameWidth ? layer : best), {
          frameWidth: 0,
          frameHeight: 0,
        });
      sent[source] = {
        framesEncoded: sum('framesEncoded'),
        keyFramesEncoded: sum('keyFramesEncoded'),
        keyframeRequests: sum('pliCount') + sum('firCount'),
        frameWidth: largest.frameWidth,
        frameHeight: largest.frameHeight,
        packetsSent: sum('packetsSent'),
        layers,
      };
    }
    return sent;
  });
}

/**
 * Returns what the receiving connection gets from `identity`, found through that person's
 * tile: `{tileState, camera, camera2, screen, audio}`. The three videos are the inbound-rtp
 * `{framesDecoded, frameWidth, frameHeight, packetsReceived}` of the track the tile shows,
 * or null; `audio` lists `{packetsReceived, totalAudioEnergy, audioLevel}` for each audio
 * track the tile plays. Returns null while the page has no receiving connection.
 */
export async function readReceived(page, identity) {
  return page.evaluate(async (identity) => {
    const pc = window.profstage?.subscriber;
    if (!pc) {
      return null;
    }
    const selector = `[data-testid="tile"][data-identity="${CSS.escape(identity)}"]`;
    const tile = document.querySelector(selector);
    if (!tile) {
      return { tileState: null, camera: null, camera2: null, screen: null, audio: [] };
    }

    const report = await pc.getStats();
    const inbound = [...report.values()].filter((stats) => stats.type === 'inbound-rtp');
    const byTrack = (id) => inbound.find((stats) => stats.trackIdentifier === id);

    const video = (source) => {
      const element = tile.querySelector(`[data-testid="tile-${source}"]`);
      const track = element?.srcObject?.getVideoTracks?.()[0];
      const stats = track ? byTrack(track.id) : undefined;
      if (!stats) {
        return null;
      }
      return {
        framesDecoded: stats.framesDecoded ?? 0,
        frameWidth: stats.frameWidth ?? 0,
        frameHeight: stats.frameHeight ?? 0,
        packetsReceived: stats.packetsReceived ?? 0,
      };
    };

    const audioTracks = [...tile.querySelectorAll('audio')].flatMap(
      (element) => element.srcObject?.getAudioTracks?.() ?? [],
    );
    const audio = audioTracks.map((track) => {
      const stats = byTrack(track.id);
      return {
        packetsReceived: stats?.packetsReceived ?? 0,
        totalAudioEnergy: stats?.totalAudioEnergy ?? 0,
        audioLevel: stats?.audioLevel ?? 0,
      };
    });

    return {
      tileState: tile.dataset.state ?? null,
      camera: video('camera'),
      camera2: video('camera2'),
      screen: video('screen'),
      audio,
    };
  }, identity);
}

/**
 * Polls the page's receiving connection every 50 ms until the camera track of `identity`
 * has a decoded frame, and returns the milliseconds from the page's DOMContentLoaded (the
 * expert page joins while its module script runs, just before that event) to that
 * moment, measured on the page's own clock. Rejects after `timeoutMs`.
 */
export async function msToFirstCameraFrame(page, identity, timeoutMs) {
  return page.evaluate(
    async ({ identity, timeoutMs }) => {
      const [navigation] = performance.getEntriesByType('navigation');
      const start = navigation.domContentLoadedEventStart;
      const selector =
        `[data-testid="tile"][data-identity="${CSS.escape(identity)}"] ` +
        '[data-testid="tile-camera"]';
      const deadline = performance.now() + timeoutMs;

      while (performance.now() < deadline) {
        const track = document.querySelector(selector)?.srcObject?.getVideoTracks?.()[0];
        const pc = window.profstage?.subscriber;
        if (track && pc) {
          const report = await pc.getStats();
          const stats = [...report.values()].find(
            (entry) => entry.type === 'inbound-rtp' && entry.trackIdentifier === track.id,
          );
          if ((stats?.framesDecoded ?? 0) > 0) {
            return performance.now() - start;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`no decoded camera frame from ${identity} within ${timeoutMs} ms`);
    },
    { identity, timeoutMs },
  );
}

/**
 * Returns the candidate pair that the page's `connection` (`publisher` or `subscriber`)
 * sends on: `{local, remote}`, each `{candidateType, protocol, relayProtocol, port}` from
 * the candidate's stats, or null while no pair is selected.
 */
export async function readSelectedPair(page, connection) {
  return page.evaluate(async (connection) => {
    const pc = window.profstage?.[connection];
    if (!pc) {
      return null;
    }
    const report = await pc.getStats();
    const entries = [...report.values()];
    const transport = entries.find((entry) => entry.type === 'transport');
    const pair = report.get(transport?.selectedCandidatePairId);
    if (!pair) {
      return null;
    }
    const describe = (id) => {
      const candidate = report.get(id);
      return {
        candidateType: candidate?.candidateType ?? null,
        protocol: candidate?.protocol ?? null,
        relayProtocol: candidate?.relayProtocol ?? null,
        port: candidate?.port ?? null,
      };
    };
    return { local: describe(pair.localCandidateId), remote: describe(pair.remoteCandidateId) };
  }, connection);
}

/**
 * Describes the page's connection `connection` for a failure message: its states, then one
 * line per candidate pair, with each candidate as type/protocol/address:port.
 */
export async function describeIce(page, connection) {
  return page.evaluate(async (connection) => {
    const pc = window.profstage?.[connection];
    if (!pc) {
      return `no ${connection} connection`;
    }
    const report = await pc.getStats();
    const candidate = (id) => {
      const entry = report.get(id);
      return entry
        ? `${entry.candidateType}/${entry.protocol}/${entry.address}:${entry.port}`
        : 'unknown';
    };
    const pairs = [...report.values()]
      .filter((entry) => entry.type === 'candidate-pair')
      .map((pair) => {
        const local = candidate(pair.localCandidateId);
        return `${local} -> ${candidate(pair.remoteCandidateId)}: ${pair.state}`;
      });
    return [
      `${connection}: connection ${pc.connectionState}, ICE ${pc.iceConnectionState}, ` +
        `gathering ${pc.iceGatheringState}`,
      ...pairs,
    ].join('\n  ');
  }, connection);
}
