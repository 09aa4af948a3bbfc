// How each source is encoded. A camera goes out as three simulcast layers, so that the
// server can forward a small one to a grid tile and the full one to an enlarged view. A
// screen goes out as one sharp layer. The server names the camera layers that receivers or
// the recording need (`layers_wanted`), and the others are paused with `active: false`.

// Highest first. Chromium 156 sends only the first encodings when the capture is too small
// for all of them (two from 640x480, one from 320x240), so the full size must come first.
// The offer's `a=simulcast` line follows this order, and the server reads it so. From a
// 1280x720 camera: 1280x720, 640x360 and 320x180.
const CAMERA_LAYERS = [
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
];

// Text on a shared screen must stay readable, so the screen keeps its resolution and gives
// up frame rate under load (see `contentHint` in media-devices.js).
const SCREEN_LAYER = { maxBitrate: 2_500_000, maxFramerate: 15 };

const SIMULCAST_SOURCES = ['camera', 'camera2'];

/** Returns the `sendEncodings` for a transceiver that sends `source`, or undefined. */
export function sendEncodings(source) {
  if (SIMULCAST_SOURCES.includes(source)) {
    return CAMERA_LAYERS.map((layer) => ({ ...layer }));
  }
  if (source === 'screen') {
    return [{ ...SCREEN_LAYER }];
  }
  return undefined;
}

/**
 * Sends only the encodings whose RID is in `rids` and pauses the others. An encoding
 * without a RID, of a source that is not simulcast, is left alone.
 */
export async function activateLayers(sender, rids) {
  const parameters = sender.getParameters();
  let changed = false;
  for (const encoding of parameters.encodings ?? []) {
    if (encoding.rid === undefined) {
      continue;
    }
    const active = rids.includes(encoding.rid);
    changed ||= encoding.active !== active;
    encoding.active = active;
  }
  if (changed) {
    await sender.setParameters(parameters);
  }
}
