// The identity snapshot: the camera's picture in a <video>, one frame drawn on a <canvas>
// and encoded as JPEG. The server checks the bytes itself; this only produces them.

/** JPEG quality of the snapshot; a 1280×720 frame then takes about 100 to 300 KiB. */
const JPEG_QUALITY = 0.85;

/** Starts the camera and shows it in `video`; returns the stream to stop later. */
export async function startCamera(video) {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { width: { ideal: 1280 }, height: { ideal: 720 } },
    audio: false,
  });
  video.srcObject = stream;
  await video.play();
  return stream;
}

/** Stops every track of `stream`. */
export function stopCamera(stream) {
  for (const track of stream?.getTracks() ?? []) {
    track.stop();
  }
}

/** Draws the current frame of `video` on `canvas` and returns it as a JPEG blob. */
export function takeSnapshot(video, canvas) {
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext('2d').drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) => {
    canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error('the canvas gave no JPEG'))),
      'image/jpeg',
      JPEG_QUALITY,
    );
  });
}
