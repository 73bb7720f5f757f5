import type { Component } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';
import type { ScanRecord } from '../store/scans.js';
import type { Store } from '../store/store.js';
import { exists, moveFile, removeDir, removeFile } from './files.js';
import type { DataLayout } from './layout.js';

export type AfterSuccess = 'move' | 'delete';

/** Moves a rejected scan's files aside with the reason; provided by the quarantine adapter. */
export type QuarantineScanFiles = (scan: ScanRecord, files: string[]) => Promise<void>;

/**
 * Clears a scan's files out of the processing area once its record is final. Runs after the
 * record commits, so a crash in between only leaves files that start() settles again; every step
 * tolerates having been done already.
 */
export class Settler implements Component {
  readonly name = 'settler';

  constructor(
    private readonly store: Store,
    private readonly layout: DataLayout,
    private readonly afterSuccess: (sourceId: string) => AfterSuccess,
    private readonly quarantine: QuarantineScanFiles,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    for (;;) {
      const batch = this.store.scans.unsettled(500);
      if (batch.length === 0) break;
      for (const scan of batch) await this.settle(scan);
    }
  }

  async stop(): Promise<void> {
    // Nothing held between calls: every settle finishes inside its caller.
  }

  async settle(scan: ScanRecord): Promise<void> {
    try {
      const present: string[] = [];
      for (const f of scan.files) if (await exists(f.to)) present.push(f.to);
      if (scan.state === 'rejected') {
        if (present.length > 0) await this.quarantine(scan, present);
      } else if (this.afterSuccess(scan.sourceId) === 'move') {
        const doneDir = this.layout.doneOf(scan.id, new Date(scan.receivedAt));
        for (const p of present) await moveFile(p, `${doneDir}/${p.slice(p.lastIndexOf('/') + 1)}`);
      } else {
        for (const p of present) await removeFile(p);
      }
      await removeDir(this.layout.processingOf(scan.id));
      this.store.scans.markSettled(scan.id);
    } catch (err) {
      // Left unsettled: the next start() tries again. Screening is unaffected; only disk use grows.
      this.log.error({ err, scanId: scan.id }, 'could not settle scan files');
    }
  }
}
