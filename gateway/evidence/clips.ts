/**
 * Evidence clips for alerts. A request is written to disk before anything else (so a crash or restart
 * loses none), pins its stretch of the camera's ring, waits until the ring holds video past the
 * request's end (or a deadline passes: a camera that is down will not send it), cuts the MP4 and the
 * snapshot, stores the resulting reference next to them and hands it to `onReady`. Only once `onReady`
 * has returned is the request file removed, so the hand-off is at least once, keyed by alert and camera.
 */
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { ClipRef } from '../../adapters/mqtt/topics.js';
import { errorMessage, PgError } from '../../config/shared/errors.js';
import type { Component } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';
import { type CutOptions, cutClip, snapshotAt } from './cut.js';
import { ALERT_ID, type EvidencePaths, type Segment } from './ring.js';

/** What a clip needs of a camera's recorder (SegmentRecorder is one). */
export interface ClipSource {
  readonly id: string;
  readonly settings: { preSeconds: number; postSeconds: number; segmentSeconds: number };
  segments(): readonly Segment[];
  pin(fromMs: number, toMs: number): () => void;
  onSegment(listener: (s: Segment) => void): () => void;
}

export interface ClipRequest {
  alertId: string;
  cameraId: string;
  /** Epoch ms of the alert (the scan's capture time). */
  atMs: number;
}

export interface ClipServiceOptions {
  paths: Pick<EvidencePaths, 'clipsRoot' | 'clipsOf'>;
  /** The recorder of a camera, or undefined when it has none (the request then yields no clip). */
  source(cameraId: string): ClipSource | undefined;
  /** Told once per alert and camera (again after a crash before it returned). May be async. */
  onReady(alertId: string, ref: ClipRef): void | Promise<void>;
  log: Logger;
  cut?: CutOptions;
  jpegQuality?: number;
  /** How long past the request's end to wait for video; default 3 segments + 10 s. */
  graceMs?: number;
  /** Cuts running at once; default 2. */
  concurrency?: number;
}

const storedRequest = z.strictObject({
  alertId: z.string().regex(ALERT_ID),
  cameraId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
  atMs: z.number().int(),
  fromMs: z.number().int(),
  toMs: z.number().int(),
  requestedAt: z.number().int(),
});
type StoredRequest = z.infer<typeof storedRequest>;

const REQUEST_SUFFIX = '.request.json';

export function clipUrl(alertId: string, cameraId: string, ext: 'mp4' | 'jpg'): string {
  return `/api/v1/alerts/${alertId}/clips/${cameraId}.${ext}`;
}

export class ClipService implements Component {
  readonly name = 'evidence-clips';
  private readonly jobs = new Map<string, Promise<void>>();
  private readonly stopped = new AbortController();
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private readonly o: ClipServiceOptions) {}

  /** Resumes the requests a previous run left on disk; returns once they are scheduled. */
  async start(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => this.stopped.abort(), { once: true });
    const alerts = await readdir(this.o.paths.clipsRoot).catch(() => [] as string[]);
    for (const alertId of alerts.filter((a) => ALERT_ID.test(a))) {
      const dir = this.o.paths.clipsOf(alertId);
      for (const file of await readdir(dir).catch(() => [] as string[])) {
        if (!file.endsWith(REQUEST_SUFFIX)) continue;
        try {
          const req = storedRequest.parse(JSON.parse(await readFile(join(dir, file), 'utf8')));
          if (req.alertId === alertId) this.schedule(req);
        } catch (err) {
          // A torn or foreign file must not block the others; it stays for a person to look at.
          this.o.log.error({ err, file: { alertId, name: file } }, 'unreadable clip request left as is');
        }
      }
    }
  }

  /** Waits for running cuts; requests still waiting for video stay on disk for the next start. */
  async stop(): Promise<void> {
    this.stopped.abort();
    await Promise.allSettled([...this.jobs.values()]);
  }

  /**
   * Records the request durably and returns; the clip follows through `onReady`. A repeated request
   * for the same alert and camera is a no-op.
   */
  async request(r: ClipRequest): Promise<void> {
    if (!ALERT_ID.test(r.alertId)) throw new PgError('NOT_FOUND', 'not an alert id');
    const src = this.o.source(r.cameraId);
    if (!src) throw new PgError('CAMERA_UNKNOWN', `camera "${r.cameraId}" has no recorder`);
    const key = `${r.alertId}/${r.cameraId}`;
    if (this.jobs.has(key)) return;
    const dir = this.o.paths.clipsOf(r.alertId);
    if (await readFile(join(dir, `${r.cameraId}.json`)).catch(() => null)) return;
    const atMs = Math.round(r.atMs);
    const req: StoredRequest = {
      alertId: r.alertId,
      cameraId: r.cameraId,
      atMs,
      fromMs: atMs - Math.round(src.settings.preSeconds * 1000),
      toMs: atMs + Math.round(src.settings.postSeconds * 1000),
      requestedAt: Date.now(),
    };
    await mkdir(dir, { recursive: true });
    await writeDurably(join(dir, `${r.cameraId}${REQUEST_SUFFIX}`), JSON.stringify(req));
    this.schedule(req);
  }

  /** The clip references stored for an alert (one per camera that has finished). */
  async refs(alertId: string): Promise<ClipRef[]> {
    if (!ALERT_ID.test(alertId)) return [];
    const dir = this.o.paths.clipsOf(alertId);
    const files = await readdir(dir).catch(() => [] as string[]);
    const refs: ClipRef[] = [];
    for (const f of files.filter((n) => n.endsWith('.json') && !n.endsWith(REQUEST_SUFFIX)).sort()) {
      const ref = await readFile(join(dir, f), 'utf8').then(
        (t) => JSON.parse(t) as ClipRef,
        () => null,
      );
      if (ref) refs.push(ref);
    }
    return refs;
  }

  /** Requests not yet handed to onReady. */
  pending(): number {
    return this.jobs.size;
  }

  /** Resolves when no request is in progress (tests, shutdown diagnostics). */
  async settled(): Promise<void> {
    while (this.jobs.size > 0) await Promise.allSettled([...this.jobs.values()]);
  }

  private schedule(req: StoredRequest): void {
    const key = `${req.alertId}/${req.cameraId}`;
    if (this.jobs.has(key)) return;
    const src = this.o.source(req.cameraId);
    const segMs = (src?.settings.segmentSeconds ?? 2) * 1000;
    // Pinned before anything awaits: a resumed request's video must not age out while its job starts.
    const unpin = src?.pin(req.fromMs - segMs, req.toMs + segMs);
    const job = this.run(req, src, segMs)
      .catch((err: unknown) =>
        this.o.log.error({ err, clip: { key } }, 'clip request failed; retried on restart'),
      )
      .finally(() => {
        unpin?.();
        this.jobs.delete(key);
      });
    this.jobs.set(key, job);
  }

  private async run(req: StoredRequest, src: ClipSource | undefined, segMs: number): Promise<void> {
    const dir = this.o.paths.clipsOf(req.alertId);
    const refPath = join(dir, `${req.cameraId}.json`);
    let ref = await readFile(refPath, 'utf8').then(
      (t) => JSON.parse(t) as ClipRef,
      () => null,
    );
    if (!ref) {
      if (src && !(await this.waitForVideo(src, req, segMs))) return;
      ref = await this.limited(() => this.cut(req, src));
      await writeDurably(refPath, JSON.stringify(ref));
    }
    if (this.stopped.signal.aborted) return;
    await this.o.onReady(req.alertId, ref);
    await rm(join(dir, `${req.cameraId}${REQUEST_SUFFIX}`), { force: true });
  }

  /** True when the ring holds video past the request's end or the deadline passed; false on stop. */
  private waitForVideo(src: ClipSource, req: StoredRequest, segMs: number): Promise<boolean> {
    const deadline = req.toMs + (this.o.graceMs ?? 3 * segMs + 10_000);
    return new Promise((resolve) => {
      const done = (v: boolean): void => {
        clearTimeout(timer);
        unsubscribe();
        this.stopped.signal.removeEventListener('abort', onStop);
        resolve(v);
      };
      const check = (): void => {
        const newest = src.segments().at(-1);
        if ((newest && newest.endMs >= req.toMs) || Date.now() >= deadline) done(true);
      };
      const onStop = (): void => done(false);
      const unsubscribe = src.onSegment(check);
      const timer = setTimeout(check, Math.max(0, deadline - Date.now()));
      this.stopped.signal.addEventListener('abort', onStop, { once: true });
      if (this.stopped.signal.aborted) done(false);
      else check();
    });
  }

  private async cut(req: StoredRequest, src: ClipSource | undefined): Promise<ClipRef> {
    const dir = this.o.paths.clipsOf(req.alertId);
    const iso = (ms: number) => new Date(ms).toISOString();
    const missing = (detail: string): ClipRef => ({
      camera: req.cameraId,
      clip: null,
      snapshot: null,
      from: iso(req.fromMs),
      to: iso(req.toMs),
      reason: new PgError('CLIP_UNAVAILABLE', detail).message,
    });
    if (!src) return missing('the camera does not record');
    const segs = src.segments().filter((s) => s.endMs > req.fromMs && s.startMs < req.toMs);
    if (segs.length === 0) return missing('no video in the ring for this time (camera offline?)');
    let span: Awaited<ReturnType<typeof cutClip>>;
    try {
      span = await cutClip(segs, join(dir, `${req.cameraId}.mp4`), this.o.cut);
    } catch (err) {
      this.o.log.error({ err, clip: { alertId: req.alertId, camera: req.cameraId } }, 'clip cut failed');
      return missing(`cutting the clip failed (${errorMessage(err)})`);
    }
    const holder =
      segs.find((s) => s.startMs <= req.atMs && req.atMs < s.endMs) ??
      [...segs].sort((a, b) => distance(a, req.atMs) - distance(b, req.atMs))[0];
    let snapshot: string | null = null;
    try {
      if (holder) {
        const q = { ...this.o.cut, quality: this.o.jpegQuality };
        await snapshotAt(holder, req.atMs, join(dir, `${req.cameraId}.jpg`), q);
        snapshot = clipUrl(req.alertId, req.cameraId, 'jpg');
      }
    } catch (err) {
      this.o.log.warn({ err, clip: { alertId: req.alertId, camera: req.cameraId } }, 'snapshot failed');
    }
    const heldMs = segs.reduce((n, s) => n + (s.endMs - s.startMs), 0);
    const wantedMs = req.toMs - req.fromMs;
    const segMs = src.settings.segmentSeconds * 1000;
    const partial = heldMs + segMs < wantedMs || span.startMs > req.fromMs + segMs || span.endMs < req.toMs;
    return {
      camera: req.cameraId,
      clip: clipUrl(req.alertId, req.cameraId, 'mp4'),
      snapshot,
      from: iso(span.startMs),
      to: iso(span.endMs),
      reason: partial
        ? `video covers ${Math.round(heldMs / 1000)} s of the ${Math.round(wantedMs / 1000)} s asked for (camera offline part of the time)`
        : null,
    };
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    const max = Math.max(1, this.o.concurrency ?? 2);
    // A finishing cut hands its slot straight to the next in line, so none can slip in between.
    if (this.running >= max) await new Promise<void>((r) => this.queue.push(r));
    else this.running++;
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    }
  }
}

function distance(s: Segment, t: number): number {
  return t < s.startMs ? s.startMs - t : t >= s.endMs ? t - s.endMs : 0;
}

/** Written under a temporary name, flushed to disk, then renamed: a crash leaves the old file or the new. */
async function writeDurably(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
