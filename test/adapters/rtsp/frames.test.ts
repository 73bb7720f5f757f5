import { describe, expect, it } from 'vitest';
import { FrameAssembler } from '../../../adapters/rtsp/frame-assembler.js';
import { LatestFrameHandoff } from '../../../adapters/rtsp/latest-frame.js';
import { FpsMeter } from '../../../adapters/rtsp/stream-status.js';

/** `n` frames of `size` bytes, each filled with its index so a mix-up shows. */
function stream(n: number, size: number): Buffer {
  const out = Buffer.alloc(n * size);
  for (let i = 0; i < n; i++) out.fill(i + 1, i * size, (i + 1) * size);
  return out;
}

function collect(size: number): { asm: FrameAssembler; frames: Buffer[] } {
  const frames: Buffer[] = [];
  return { asm: new FrameAssembler(size, (f) => frames.push(Buffer.from(f))), frames };
}

describe('FrameAssembler', () => {
  it('cuts any chunking of the byte stream into the same whole frames', () => {
    const size = 12 * 8 * 3;
    const bytes = stream(7, size);
    let seed = 7;
    for (const maxChunk of [1, 5, size - 1, size, size + 1, 2 * size + 3, 5000]) {
      const { asm, frames } = collect(size);
      for (let at = 0; at < bytes.length; ) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        const len = 1 + (seed % maxChunk);
        asm.push(bytes.subarray(at, at + len));
        at += len;
      }
      expect(frames.length).toBe(7);
      frames.forEach((f, i) => {
        expect(f.length).toBe(size);
        expect(f.every((b) => b === i + 1)).toBe(true);
      });
      expect(asm.pendingBytes).toBe(0);
      expect(asm.frames).toBe(7);
    }
  });

  it('holds a partial frame and reports its size (output that ends inside a frame is garbage)', () => {
    const { asm, frames } = collect(100);
    asm.push(stream(1, 100).subarray(0, 60));
    expect(frames).toHaveLength(0);
    expect(asm.pendingBytes).toBe(60);
    asm.push(Buffer.alloc(40 + 30, 9));
    expect(frames).toHaveLength(1);
    expect(asm.pendingBytes).toBe(30);
    asm.reset();
    expect(asm.pendingBytes).toBe(0);
  });

  it('hands out frames that lie inside one chunk without copying, and copies a spanning frame once', () => {
    const views: Buffer[] = [];
    const asm = new FrameAssembler(10, (f) => views.push(f));
    const chunk = Buffer.alloc(25, 1);
    asm.push(chunk);
    expect(views).toHaveLength(2);
    expect(views[0]?.buffer).toBe(chunk.buffer);
    expect(views[1]?.byteOffset).toBe(chunk.byteOffset + 10);
    const next = Buffer.alloc(5, 2);
    asm.push(next);
    expect(views).toHaveLength(3);
    expect(views[2]?.buffer).not.toBe(chunk.buffer);
    expect([...(views[2] ?? [])]).toEqual([1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
  });

  it('rejects a nonsensical frame size', () => {
    expect(() => new FrameAssembler(0, () => undefined)).toThrow(RangeError);
  });
});

describe('LatestFrameHandoff (newest wins)', () => {
  it('gives a slow consumer the newest frame and counts every frame it never saw', async () => {
    const seen: number[] = [];
    let release: () => void = () => undefined;
    const handoff = new LatestFrameHandoff<number>(async (n) => {
      seen.push(n);
      await new Promise<void>((r) => {
        release = r;
      });
    }, fail);
    for (let i = 1; i <= 10; i++) handoff.offer(i);
    expect(seen).toEqual([1]);
    expect(handoff.dropped).toBe(8); // 2..9 replaced; 10 waits
    release();
    await tick();
    expect(seen).toEqual([1, 10]);
    release();
    await handoff.whenIdle();
    expect(handoff.inFlight).toBe(false);
    expect(handoff.delivered).toBe(2);
    expect(handoff.dropped + handoff.delivered).toBe(10);
  });

  it('does not drop anything for a consumer that keeps up', () => {
    const seen: number[] = [];
    const handoff = new LatestFrameHandoff<number>((n) => {
      seen.push(n);
    }, fail);
    for (let i = 1; i <= 100; i++) handoff.offer(i);
    expect(seen).toHaveLength(100);
    expect(handoff.dropped).toBe(0);
  });

  it('keeps delivering after the consumer throws or rejects, and reports each failure', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const handoff = new LatestFrameHandoff<number>(
      (n) => {
        calls++;
        if (n === 1) throw new Error('sync boom');
        if (n === 2) return Promise.reject(new Error('async boom'));
      },
      (err) => errors.push(err),
    );
    handoff.offer(1);
    handoff.offer(2);
    await tick();
    handoff.offer(3);
    await handoff.whenIdle();
    expect(calls).toBe(3);
    expect(errors.map((e) => (e as Error).message)).toEqual(['sync boom', 'async boom']);
  });

  it('keeps only the newest frame until a consumer is set', () => {
    const seen: number[] = [];
    const handoff = new LatestFrameHandoff<number>(null, fail);
    handoff.offer(1);
    handoff.offer(2);
    handoff.offer(3);
    handoff.setConsumer((n) => {
      seen.push(n);
    });
    expect(seen).toEqual([3]);
    expect(handoff.dropped).toBe(2);
  });
});

describe('FpsMeter', () => {
  it('measures over the window, and over less while the window is young', () => {
    const m = new FpsMeter(2000);
    m.reset(0);
    for (let t = 100; t <= 1000; t += 100) m.add(t);
    expect(m.fps(1000)).toBeCloseTo(10);
    for (let t = 1200; t <= 4000; t += 200) m.add(t);
    expect(m.fps(4000)).toBeCloseTo(5);
    expect(m.fps(10_000)).toBe(0);
  });
});

function fail(err: unknown): never {
  throw err;
}

function tick(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
