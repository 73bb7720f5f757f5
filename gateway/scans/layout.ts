import { join } from 'node:path';

/** Where things live under the data directory. One place, so recovery and HTTP agree with the writers. */
export function dataLayout(dataDir: string) {
  return {
    dataDir,
    processing: join(dataDir, 'scans', 'processing'),
    processingOf: (scanId: string) => join(dataDir, 'scans', 'processing', scanId),
    doneOf: (scanId: string, at: Date) =>
      join(dataDir, 'scans', 'done', at.toISOString().slice(0, 10), scanId),
    evidenceOf: (scanId: string) => join(dataDir, 'evidence', 'scans', scanId),
    quarantine: join(dataDir, 'quarantine'),
    incoming: join(dataDir, 'incoming'),
  };
}

export type DataLayout = ReturnType<typeof dataLayout>;
