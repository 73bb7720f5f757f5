/**
 * Cuts ffmpeg's rawvideo stdout into whole frames. A pipe delivers chunks of whatever size the kernel
 * chose (64 KiB on Linux), so a frame usually spans several chunks and a chunk may hold the end of
 * one frame and the start of the next.
 *
 * Copying is the least the chunking allows: a frame lying wholly inside one chunk is handed out as a
 * view of that chunk (Node allocates every read afresh, so the memory is never overwritten under the
 * consumer), and a frame spanning chunks is copied once into its own buffer. No concat, no growing
 * accumulator, and at most one partial frame held at a time.
 */
export class FrameAssembler {
  private partial: Buffer | null = null;
  private filled = 0;
  private count = 0;

  constructor(
    readonly frameBytes: number,
    private readonly onFrame: (frame: Buffer) => void,
  ) {
    if (!Number.isInteger(frameBytes) || frameBytes <= 0) {
      throw new RangeError(`frameBytes must be a positive integer, got ${frameBytes}`);
    }
  }

  /** Frames emitted so far. */
  get frames(): number {
    return this.count;
  }

  /** Bytes of an incomplete frame; non-zero when ffmpeg has exited means its output was not whole frames. */
  get pendingBytes(): number {
    return this.filled;
  }

  push(chunk: Buffer): void {
    const size = this.frameBytes;
    let offset = 0;
    if (this.partial !== null) {
      const n = Math.min(size - this.filled, chunk.length);
      chunk.copy(this.partial, this.filled, 0, n);
      this.filled += n;
      offset = n;
      if (this.filled < size) return;
      const frame = this.partial;
      this.partial = null;
      this.filled = 0;
      this.emit(frame);
    }
    while (chunk.length - offset >= size) {
      this.emit(chunk.subarray(offset, offset + size));
      offset += size;
    }
    if (offset < chunk.length) {
      // allocUnsafe: every byte is overwritten before the frame is handed out.
      this.partial = Buffer.allocUnsafe(size);
      chunk.copy(this.partial, 0, offset);
      this.filled = chunk.length - offset;
    }
  }

  /** Forgets a partial frame (a new ffmpeg process starts a new byte stream). */
  reset(): void {
    this.partial = null;
    this.filled = 0;
  }

  private emit(frame: Buffer): void {
    this.count++;
    this.onFrame(frame);
  }
}
