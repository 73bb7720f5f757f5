/**
 * The hand-off between a reader and its one consumer. Video frames are samples, not records: when the
 * consumer is still busy with the previous frame, the newest frame waits in a single slot and replaces
 * whatever waited there before, and every replaced frame is counted as dropped. The reader therefore
 * never queues, never blocks ffmpeg, and a slow consumer sees the freshest picture when it is ready.
 */
export type Consumer<T> = (item: T) => void | Promise<void>;

export class LatestFrameHandoff<T> {
  private consumer: Consumer<T> | null;
  private pending: T | null = null;
  private busy = false;
  private idle: Array<() => void> = [];
  private droppedCount = 0;
  private deliveredCount = 0;

  /** `onError`: a consumer that throws or rejects is reported here and keeps receiving frames. */
  constructor(
    consumer: Consumer<T> | null,
    private readonly onError: (err: unknown) => void,
  ) {
    this.consumer = consumer;
  }

  get dropped(): number {
    return this.droppedCount;
  }

  get delivered(): number {
    return this.deliveredCount;
  }

  /** True while the consumer has not finished with the last frame it was given. */
  get inFlight(): boolean {
    return this.busy;
  }

  setConsumer(consumer: Consumer<T> | null): void {
    this.consumer = consumer;
    this.pump();
  }

  offer(item: T): void {
    if (this.pending !== null) this.droppedCount++;
    this.pending = item;
    this.pump();
  }

  /** Discards the waiting frame without counting it (the stream stopped; nothing newer will come). */
  clear(): void {
    this.pending = null;
  }

  /** Resolves once the consumer is not working on a frame. */
  whenIdle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (!this.busy && this.pending !== null && this.consumer !== null) {
      const item = this.pending;
      this.pending = null;
      this.busy = true;
      this.deliveredCount++;
      let result: void | Promise<void>;
      try {
        result = this.consumer(item);
      } catch (err) {
        this.busy = false;
        this.onError(err);
        continue;
      }
      if (isThenable(result)) {
        result.then(
          () => this.done(),
          (err: unknown) => {
            try {
              this.onError(err);
            } finally {
              this.done();
            }
          },
        );
        return;
      }
      // A synchronous consumer is finished already: loop on in case it offered a frame itself.
      this.busy = false;
    }
    if (!this.busy) this.wake();
  }

  private done(): void {
    this.busy = false;
    this.pump();
  }

  private wake(): void {
    const waiting = this.idle;
    this.idle = [];
    for (const resolve of waiting) resolve();
  }
}

function isThenable(v: unknown): v is PromiseLike<void> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}
