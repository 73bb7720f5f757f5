/**
 * Keeps video evidence (rings and clips) within `evidence.quotaMb`. Clips are evidence of an alert and
 * are kept for as long as the caller's `keepClipsOf` says (open alerts, and closed ones for
 * `retention.clipDays`), quota or not; so when the disk budget runs out it is the rings that shrink,
 * oldest unpinned segments first across all cameras, and a warning says so. Clip directories whose
 * alert no longer needs them are deleted on every sweep.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, PgError } from '../../config/shared/errors.js';
import type { Component } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';
import { ALERT_ID, type EvidencePaths, type Segment } from './ring.js';

/** What the quota needs of a ring (SegmentRecorder is one). */
export interface QuotaRing {
  readonly id: string;
  ringBytes(): number;
  segments(): readonly Segment[];
  /** Frees up to `bytes`, oldest unpinned first, keeping the newest `keep` segments; returns bytes freed. */
  shrink(bytes: number, keep: number): Promise<number>;
  setQuotaLimited(limited: boolean): void;
}

export interface QuotaWarning {
  code: 'EVIDENCE_QUOTA';
  message: string;
  usedBytes: number;
  quotaBytes: number;
  clipBytes: number;
  ringBytes: number;
}

export interface SweepReport {
  quotaBytes: number;
  clipBytes: number;
  /** Ring bytes after the sweep. */
  ringBytes: number;
  freedRingBytes: number;
  deletedClips: string[];
  /** Still above the quota after shrinking the rings as far as allowed (kept clips alone fill it). */
  over: boolean;
}

export interface EvidenceQuotaOptions {
  paths: Pick<EvidencePaths, 'clipsRoot' | 'clipsOf'>;
  quotaMb: number;
  rings(): Iterable<QuotaRing>;
  /** True while the alert's clips must be kept (open, or closed less than clipDays ago). */
  keepClipsOf(alertId: string): boolean;
  onWarning?(w: QuotaWarning): void;
  log: Logger;
  /** Default 60 s. */
  intervalMs?: number;
  /** Newest segments each ring keeps whatever the quota (the live view plays them); default 2. */
  keepSegments?: number;
}

export class EvidenceQuota implements Component {
  readonly name = 'evidence-quota';
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<SweepReport> | null = null;
  private warned: 'rings' | 'clips' | null = null;

  constructor(private readonly o: EvidenceQuotaOptions) {}

  async start(signal: AbortSignal): Promise<void> {
    if (this.timer || signal.aborted) return;
    signal.addEventListener('abort', () => void this.stop(), { once: true });
    this.timer = setInterval(
      () => void this.sweep().catch((err) => this.fail(err)),
      this.o.intervalMs ?? 60_000,
    );
    void this.sweep().catch((err) => this.fail(err));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.current?.catch(() => undefined);
  }

  /** One pass; concurrent calls share the pass in progress. */
  sweep(): Promise<SweepReport> {
    this.current ??= this.pass().finally(() => {
      this.current = null;
    });
    return this.current;
  }

  private async pass(): Promise<SweepReport> {
    const quotaBytes = this.o.quotaMb * 1024 * 1024;
    const { clipBytes, deletedClips } = await this.sweepClips();
    const rings = [...this.o.rings()];
    const ringBytes = (): number => rings.reduce((n, r) => n + r.ringBytes(), 0);
    const excess = clipBytes + ringBytes() - quotaBytes;
    const freed = new Map<QuotaRing, number>();
    if (excess > 0) await this.shrinkRings(rings, excess, freed);
    const freedRingBytes = [...freed.values()].reduce((a, b) => a + b, 0);
    for (const r of rings) r.setQuotaLimited((freed.get(r) ?? 0) > 0);
    const after = clipBytes + ringBytes();
    const report: SweepReport = {
      quotaBytes,
      clipBytes,
      ringBytes: ringBytes(),
      freedRingBytes,
      deletedClips,
      over: after > quotaBytes,
    };
    this.tell(report, excess > 0);
    return report;
  }

  /** Deletes clip directories nobody needs any more; returns the bytes of those kept. */
  private async sweepClips(): Promise<{ clipBytes: number; deletedClips: string[] }> {
    let clipBytes = 0;
    const deletedClips: string[] = [];
    const names = await readdir(this.o.paths.clipsRoot).catch(() => [] as string[]);
    for (const alertId of names.filter((n) => ALERT_ID.test(n))) {
      const dir = this.o.paths.clipsOf(alertId);
      const files = await readdir(dir).catch(() => [] as string[]);
      // A request still waiting for video belongs to an alert that is, by definition, still wanted.
      const pending = files.some((f) => f.endsWith('.request.json'));
      if (!pending && !this.keep(alertId)) {
        await rm(dir, { recursive: true, force: true });
        deletedClips.push(alertId);
        this.o.log.info({ alert: { id: alertId } }, 'evidence clips expired and deleted');
        continue;
      }
      for (const f of files) clipBytes += (await stat(join(dir, f)).catch(() => null))?.size ?? 0;
    }
    return { clipBytes, deletedClips };
  }

  private keep(alertId: string): boolean {
    try {
      return this.o.keepClipsOf(alertId);
    } catch (err) {
      // When in doubt, evidence stays: a failing lookup must never delete it.
      this.o.log.error({ err, alert: { id: alertId } }, 'keepClipsOf failed; clips kept');
      return true;
    }
  }

  /**
   * Works out each ring's share by walking all deletable segments oldest first, then lets each ring
   * delete its share (a ring skips what is pinned, so a second round takes what is still missing).
   */
  private async shrinkRings(
    rings: QuotaRing[],
    excess: number,
    freed: Map<QuotaRing, number>,
  ): Promise<void> {
    const keep = this.o.keepSegments ?? 2;
    const candidates = rings
      .flatMap((r) =>
        r
          .segments()
          .slice(0, Math.max(0, r.segments().length - keep))
          .map((s) => ({ r, s })),
      )
      .sort((a, b) => a.s.startMs - b.s.startMs);
    const share = new Map<QuotaRing, number>();
    let planned = 0;
    for (const { r, s } of candidates) {
      if (planned >= excess) break;
      share.set(r, (share.get(r) ?? 0) + s.bytes);
      planned += s.bytes;
    }
    let total = 0;
    for (const [r, bytes] of share) {
      const f = await r.shrink(bytes, keep);
      freed.set(r, (freed.get(r) ?? 0) + f);
      total += f;
    }
    for (const r of rings) {
      if (total >= excess) break;
      const f = await r.shrink(excess - total, keep);
      freed.set(r, (freed.get(r) ?? 0) + f);
      total += f;
    }
  }

  /** A warning when the quota starts to bite or its kind changes; repeats go to debug. */
  private tell(r: SweepReport, bit: boolean): void {
    const mb = (b: number) => Math.round(b / 1024 / 1024);
    const kind = r.over ? 'clips' : bit ? 'rings' : null;
    if (kind === null) {
      if (this.warned) this.o.log.info({ quota: r }, 'video evidence back within its quota');
      this.warned = null;
      return;
    }
    const detail =
      kind === 'clips'
        ? `clips of alerts still kept take ${mb(r.clipBytes)} MB of ${mb(r.quotaBytes)} MB; rings cut to the minimum`
        : `rings shrunk by ${mb(r.freedRingBytes)} MB to stay within ${mb(r.quotaBytes)} MB`;
    const err = new PgError('EVIDENCE_QUOTA', detail);
    const fields = { code: err.code, fix: err.fix, quota: r };
    if (this.warned === kind) {
      this.o.log.debug(fields, err.message);
      return;
    }
    this.warned = kind;
    this.o.log.warn(fields, err.message);
    try {
      this.o.onWarning?.({
        code: 'EVIDENCE_QUOTA',
        message: err.message,
        usedBytes: r.clipBytes + r.ringBytes,
        quotaBytes: r.quotaBytes,
        clipBytes: r.clipBytes,
        ringBytes: r.ringBytes,
      });
    } catch (e) {
      this.o.log.error({ err: e }, 'quota warning listener threw');
    }
  }

  private fail(err: unknown): void {
    this.o.log.error({ err, message: errorMessage(err) }, 'evidence quota sweep failed');
  }
}
