import { extname, join } from 'node:path';
import { ulid } from 'ulid';
import type { Component } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';
import type { ScanIntake, ScanSubmission } from '../../config/shared/types.js';
import type { ScanFile } from '../store/scans.js';
import type { Store } from '../store/store.js';
import { exists, moveFile } from './files.js';
import type { DataLayout } from './layout.js';

const safeExt = (p: string): string => {
  const e = extname(p).toLowerCase();
  return /^\.[a-z0-9]{1,5}$/.test(e) ? e : '.img';
};

/**
 * The durable claim. A scan record is written first (state `claiming`, naming every file's old and
 * new place), then the files are renamed out of the machine's folder, then the record is `queued`.
 * A crash at any point leaves a record that recover() can finish, and because the id is fixed at the
 * first write, a resumed scan keeps its one record: none lost, none recorded twice.
 */
export class DurableIntake implements ScanIntake, Component {
  readonly name = 'intake';

  constructor(
    private readonly store: Store,
    private readonly layout: DataLayout,
    private readonly log: Logger,
    private readonly onQueued: (scanId: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  async start(): Promise<void> {
    await this.recover();
  }

  async stop(): Promise<void> {
    // Stateless between calls: an in-progress submit completes inside its caller.
  }

  async submit(sub: ScanSubmission): Promise<{ scanId: string }> {
    const id = ulid();
    const dir = this.layout.processingOf(id);
    const files: ScanFile[] = [
      ...sub.images.map((im) => ({
        kind: 'image' as const,
        view: im.view,
        originalName: im.originalName,
        from: im.path,
        to: join(dir, `${im.view}${safeExt(im.path || im.originalName)}`),
      })),
      ...sub.companions.map((c, i) => ({
        kind: 'companion' as const,
        view: null,
        originalName: c,
        from: c,
        to: join(dir, `companion-${i}${safeExt(c)}`),
      })),
    ];
    this.store.scans.insertClaiming({
      id,
      sourceId: sub.sourceId,
      via: sub.via,
      receivedAt: this.now(),
      capturedAt: sub.meta.capturedAt,
      waybill: sub.meta.waybill,
      files,
    });
    const moved: ScanFile[] = [];
    try {
      for (const f of files) {
        await moveFile(f.from, f.to);
        moved.push(f);
      }
    } catch (err) {
      // Nobody has seen this scan yet: put back what moved and forget the claim, so the adapter's
      // retry starts clean instead of leaving a half-claimed scan behind.
      for (const f of moved)
        await moveFile(f.to, f.from).catch((e) =>
          this.log.error({ err: e, scanId: id }, 'rollback move failed'),
        );
      this.store.tx(() => this.store.scans.deleteClaim(id));
      throw err;
    }
    this.store.scans.markQueued(id);
    this.onQueued(id);
    return { scanId: id };
  }

  /** Finishes claims interrupted by a crash. Runs before any adapter starts. */
  async recover(): Promise<void> {
    const claiming = this.store.scans.inState('claiming');
    for (const scan of claiming) {
      let missing = 0;
      for (const f of scan.files) {
        if (await exists(f.to)) continue;
        if (await exists(f.from)) await moveFile(f.from, f.to);
        else if (f.kind === 'image') missing += 1;
      }
      const images = scan.files.filter((f) => f.kind === 'image').length;
      if (missing === images) {
        // The files are gone from both places (removed by hand while we were down). Record it: the
        // ledger must show that this parcel's scan arrived but could not be screened.
        this.store.scans.reject(
          scan.id,
          'IMAGE_EMPTY',
          'files vanished before screening (removed while the gateway was down)',
          this.now(),
        );
        this.log.error({ scanId: scan.id }, 'claimed scan lost its files; recorded as rejected');
      } else {
        this.store.scans.markQueued(scan.id);
      }
    }
    if (claiming.length > 0) this.log.warn({ count: claiming.length }, 'resumed interrupted claims');
    const queued = this.store.scans.count('queued');
    if (queued > 0) this.log.info({ queued }, 'scans waiting from before the restart will be screened first');
  }
}
