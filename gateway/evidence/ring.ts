/**
 * One camera's ring buffer on disk: closed MPEG-TS segments whose names carry everything known about
 * them (`<seq>-<session>-<startMs>-<endMs>.ts`), so after a restart the ring is read back from the
 * directory listing alone, with no index file to fall out of step. `seq` counts segments and `session`
 * counts ffmpeg processes that produced video, both across restarts: the live playlist's media and
 * discontinuity sequence numbers are these two.
 *
 * Segments are deleted by age, or oldest first when the evidence quota needs room, but never while a
 * pending clip has pinned the time they cover.
 */
import { readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PgError } from '../../config/shared/errors.js';
import type { Logger } from '../../config/shared/log.js';

const CAMERA_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Alert ids are ULIDs; nothing else names a clip directory. */
export const ALERT_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** Where video evidence lives under the data directory. Ids are checked: they become path parts. */
export function evidencePaths(dataDir: string) {
  const camera = (id: string): string => {
    if (!CAMERA_ID.test(id)) throw new PgError('CAMERA_UNKNOWN', 'not a camera id');
    return id;
  };
  const alert = (id: string): string => {
    if (!ALERT_ID.test(id)) throw new PgError('NOT_FOUND', 'not an alert id');
    return id;
  };
  return {
    ringOf: (cameraId: string) => join(dataDir, 'video', camera(cameraId), 'ring'),
    /** On-demand live view of a camera without a ring; deleted when nobody watches. */
    liveOf: (cameraId: string) => join(dataDir, 'video', camera(cameraId), 'live'),
    clipsRoot: join(dataDir, 'evidence', 'clips'),
    clipsOf: (alertId: string) => join(dataDir, 'evidence', 'clips', alert(alertId)),
  };
}

export type EvidencePaths = ReturnType<typeof evidencePaths>;

export interface Segment {
  /** File name, also its name in HLS URLs. */
  name: string;
  path: string;
  seq: number;
  session: number;
  /** Epoch ms of the first frame's arrival and of the next segment's first frame. */
  startMs: number;
  endMs: number;
  bytes: number;
}

const SEGMENT = /^(\d{1,12})-(\d{1,9})-(\d{13})-(\d{13})\.ts$/;
/** ffmpeg writes under this prefix; a file still named so after its process ended has no known time. */
export const RAW_PREFIX = 'raw-';

export function segmentName(s: Pick<Segment, 'seq' | 'session' | 'startMs' | 'endMs'>): string {
  return `${s.seq}-${s.session}-${s.startMs}-${s.endMs}.ts`;
}

/** The parts of a ring segment's name, or null for any other name (so also for hostile ones). */
export function parseSegmentName(
  name: string,
): Pick<Segment, 'seq' | 'session' | 'startMs' | 'endMs'> | null {
  const m = SEGMENT.exec(name);
  if (!m) return null;
  const [seq, session, startMs, endMs] = m.slice(1).map(Number) as [number, number, number, number];
  return endMs > startMs ? { seq, session, startMs, endMs } : null;
}

export class Ring {
  private segs: Segment[] = [];
  private readonly pins = new Map<number, { fromMs: number; toMs: number }>();
  private pinId = 0;
  private lastSeq = 0;
  private lastSession = 0;

  constructor(
    readonly dir: string,
    private readonly log: Logger,
  ) {}

  /**
   * Reads the ring back from disk. Files ffmpeg left under their raw name (a process killed before it
   * reported them) have no known time and are deleted.
   */
  async load(sizeOf: (path: string) => Promise<number>): Promise<void> {
    const names = await readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    const found: Segment[] = [];
    for (const name of names) {
      const path = join(this.dir, name);
      if (name.startsWith(RAW_PREFIX)) {
        await rm(path, { force: true });
        continue;
      }
      const parts = parseSegmentName(name);
      if (parts) found.push({ ...parts, name, path, bytes: await sizeOf(path) });
    }
    found.sort((a, b) => a.seq - b.seq);
    this.segs = found;
    for (const s of found) {
      this.lastSeq = Math.max(this.lastSeq, s.seq);
      this.lastSession = Math.max(this.lastSession, s.session);
    }
  }

  list(): readonly Segment[] {
    return this.segs;
  }

  newest(): Segment | undefined {
    return this.segs[this.segs.length - 1];
  }

  find(name: string): Segment | undefined {
    return this.segs.find((s) => s.name === name);
  }

  bytes(): number {
    return this.segs.reduce((n, s) => n + s.bytes, 0);
  }

  /** Milliseconds of video held. */
  heldMs(): number {
    return this.segs.reduce((n, s) => n + (s.endMs - s.startMs), 0);
  }

  nextSeq(): number {
    return ++this.lastSeq;
  }

  nextSession(): number {
    return ++this.lastSession;
  }

  add(s: Segment): void {
    this.segs.push(s);
  }

  /** Segments that overlap [fromMs, toMs], oldest first. */
  covering(fromMs: number, toMs: number): Segment[] {
    return this.segs.filter((s) => s.endMs > fromMs && s.startMs < toMs);
  }

  /** Keeps the segments overlapping [fromMs, toMs] until the returned function is called. */
  pin(fromMs: number, toMs: number): () => void {
    const id = ++this.pinId;
    this.pins.set(id, { fromMs, toMs });
    return () => {
      this.pins.delete(id);
    };
  }

  isPinned(s: Segment): boolean {
    for (const p of this.pins.values()) if (s.endMs > p.fromMs && s.startMs < p.toMs) return true;
    return false;
  }

  /** Deletes unpinned segments that ended before `cutoffMs`; returns how many. */
  async pruneBefore(cutoffMs: number): Promise<number> {
    let n = 0;
    for (const s of this.segs.filter((x) => x.endMs < cutoffMs && !this.isPinned(x))) {
      if (await this.remove(s)) n++;
    }
    return n;
  }

  /**
   * Deletes unpinned segments oldest first until `bytes` are freed, always leaving the newest `keep`
   * (the live view plays them). Returns the bytes freed.
   */
  async shrink(bytes: number, keep: number): Promise<number> {
    let freed = 0;
    const candidates = this.segs.slice(0, Math.max(0, this.segs.length - keep));
    for (const s of candidates) {
      if (freed >= bytes) break;
      if (!this.isPinned(s) && (await this.remove(s))) freed += s.bytes;
    }
    return freed;
  }

  /** Everything, for a ring that only lived for a live view. */
  async clear(): Promise<void> {
    this.segs = [];
    await rm(this.dir, { recursive: true, force: true });
  }

  /** False when the file could not be deleted: it stays listed (and counted), and the next pass retries. */
  private async remove(s: Segment): Promise<boolean> {
    try {
      await unlink(s.path);
    } catch (err) {
      // Already gone is what we wanted.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.log.warn({ err, segment: { name: s.name } }, 'cannot delete ring segment');
        return false;
      }
    }
    this.segs = this.segs.filter((x) => x !== s);
    return true;
  }
}
