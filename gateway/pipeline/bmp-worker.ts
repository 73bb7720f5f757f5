import { parentPort } from 'node:worker_threads';
import { decodeBmp } from '../../adapters/xray/bmp.js';
import { ERRORS, isPgError } from '../../config/shared/errors.js';

/** Decodes BMP files off the main thread: a per-pixel loop that grows with the image. */
parentPort!.on('message', (msg: { id: number; file: Uint8Array; maxPixels: number }) => {
  try {
    const img = decodeBmp(
      Buffer.from(msg.file.buffer, msg.file.byteOffset, msg.file.byteLength),
      msg.maxPixels,
    );
    const data = new Uint8Array(img.data.length);
    data.set(img.data);
    parentPort!.postMessage({ id: msg.id, data, width: img.width, height: img.height }, [data.buffer]);
  } catch (err) {
    const code = isPgError(err) ? err.code : 'IMAGE_CORRUPT';
    const message = err instanceof Error ? err.message : String(err);
    // Only the detail crosses: the main thread rebuilds the PgError, which adds the catalogue message.
    const prefix = `${ERRORS[code].message}: `;
    const detail = message.startsWith(prefix) ? message.slice(prefix.length) : message;
    parentPort!.postMessage({ id: msg.id, error: { code, detail } });
  }
});
