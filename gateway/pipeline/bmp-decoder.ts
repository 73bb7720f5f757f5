import type { Worker } from 'node:worker_threads';
import type { RawImage } from '../../adapters/xray/bmp.js';
import { ERRORS, type ErrorCode, PgError } from '../../config/shared/errors.js';
import type { Component } from '../../config/shared/lifecycle.js';
import { spawnWorker } from '../../models/onnx/pool.js';

type Reply =
  | { id: number; data: Uint8Array; width: number; height: number }
  | { id: number; error: { code: string; detail: string } };

const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/**
 * BMP decoding in one worker thread, started on first use (most machines export JPEG or PNG, which
 * libvips decodes off the event loop already). A crashed worker fails what it held and is replaced
 * on the next call.
 */
export class BmpDecoder implements Component {
  readonly name = 'bmp-decoder';
  private worker: Worker | null = null;
  private seq = 0;
  private readonly pending = new Map<
    number,
    { resolve: (r: RawImage) => void; reject: (e: Error) => void }
  >();

  async start(): Promise<void> {
    // Lazy: no thread until a BMP arrives.
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    this.failAll(new PgError('INFERENCE_FAILED', 'BMP decoder stopped'));
    await w?.terminate();
  }

  decode(file: Buffer, maxPixels: number): Promise<RawImage> {
    const worker = this.ensure();
    const id = ++this.seq;
    // A copy the worker can own: readFile's buffer may share its memory with others.
    const copy = new Uint8Array(file.length);
    copy.set(file);
    return new Promise<RawImage>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, file: copy, maxPixels }, [copy.buffer]);
    });
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = spawnWorker(new URL(`./bmp-worker${ext}`, import.meta.url), null);
    w.on('message', (r: Reply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if ('error' in r) {
        const code = (r.error.code in ERRORS ? r.error.code : 'IMAGE_CORRUPT') as ErrorCode;
        p.reject(new PgError(code, r.error.detail));
      } else
        p.resolve({
          data: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength),
          width: r.width,
          height: r.height,
          channels: 3,
        });
    });
    const lost = (why: string) => {
      if (this.worker === w) this.worker = null;
      this.failAll(new PgError('INFERENCE_FAILED', `BMP decoder worker ${why}`));
    };
    w.on('error', (err) => lost(`failed: ${err.message}`));
    w.on('exit', (code) => lost(`exited (${code})`));
    w.unref();
    this.worker = w;
    return w;
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
