import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ScanSubmission } from '../../../config/shared/types.js';
import { DurableIntake } from '../../../gateway/scans/intake.js';
import { dataLayout } from '../../../gateway/scans/layout.js';
import { Store } from '../../../gateway/store/store.js';

const log = pino({ level: 'silent' });
let dir: string;
let inbox: string;
let store: Store;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pg-intake-'));
  inbox = join(dir, 'inbox');
  mkdirSync(inbox);
  store = new Store(join(dir, 'data'));
  await store.start();
});
afterEach(async () => {
  await store.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sub = (names: string[], views = ['main']): ScanSubmission => {
  for (const n of names) writeFileSync(join(inbox, n), `bytes of ${n}`);
  return {
    sourceId: 'xr-1',
    via: 'hotfolder',
    images: names.map((n, i) => ({ view: views[i]!, path: join(inbox, n), originalName: n })),
    companions: [],
    meta: { waybill: 'SF1', capturedAt: null },
  };
};

describe('durable intake', () => {
  it('records the scan, moves the files out of the folder, queues it and says so', async () => {
    const queued: string[] = [];
    const intake = new DurableIntake(store, dataLayout(join(dir, 'data')), log, (id) => queued.push(id));
    const { scanId } = await intake.submit(sub(['a_top.jpg', 'a_side.jpg'], ['top', 'side']));
    expect(queued).toEqual([scanId]);
    expect(readdirSync(inbox)).toEqual([]);
    const rec = store.scans.get(scanId)!;
    expect(rec.state).toBe('queued');
    expect(rec.waybill).toBe('SF1');
    expect(rec.files.map((f) => f.to.split('/').pop())).toEqual(['top.jpg', 'side.jpg']);
    expect(readdirSync(dataLayout(join(dir, 'data')).processingOf(scanId)).sort()).toEqual([
      'side.jpg',
      'top.jpg',
    ]);
  });

  it('a failed move puts back what moved and forgets the claim, so a retry starts clean', async () => {
    const intake = new DurableIntake(store, dataLayout(join(dir, 'data')), log, () => undefined);
    const s = sub(['b_top.jpg'], ['top']);
    s.images.push({ view: 'side', path: join(inbox, 'missing.jpg'), originalName: 'missing.jpg' });
    await expect(intake.submit(s)).rejects.toThrow();
    expect(readdirSync(inbox)).toEqual(['b_top.jpg']);
    expect(store.scans.count()).toBe(0);
  });

  it('after a crash mid-claim, recovery finishes the move and keeps the same scan id', async () => {
    const layout = dataLayout(join(dir, 'data'));
    // Simulate the crash: the record was written, one of two files had moved, then the process died.
    const s = sub(['c_top.jpg', 'c_side.jpg'], ['top', 'side']);
    const proc = layout.processingOf('01JD3ZZZZZZZZZZZZZZZZZZZZZ');
    const files = s.images.map((im) => ({
      kind: 'image' as const,
      view: im.view,
      originalName: im.originalName,
      from: im.path,
      to: join(proc, `${im.view}.jpg`),
    }));
    store.scans.insertClaiming({
      id: '01JD3ZZZZZZZZZZZZZZZZZZZZZ',
      sourceId: 'xr-1',
      via: 'hotfolder',
      receivedAt: 1,
      capturedAt: null,
      waybill: null,
      files,
    });
    mkdirSync(proc, { recursive: true });
    const { renameSync } = await import('node:fs');
    renameSync(files[0]!.from, files[0]!.to);

    const intake = new DurableIntake(store, layout, log, () => undefined);
    await intake.start();
    expect(store.scans.count()).toBe(1);
    expect(store.scans.get('01JD3ZZZZZZZZZZZZZZZZZZZZZ')!.state).toBe('queued');
    expect(readdirSync(inbox)).toEqual([]);
    expect(readdirSync(proc).sort()).toEqual(['side.jpg', 'top.jpg']);
  });

  it('a claim whose files vanished while down is recorded as rejected, not dropped', async () => {
    const layout = dataLayout(join(dir, 'data'));
    store.scans.insertClaiming({
      id: '01JD3YYYYYYYYYYYYYYYYYYYYY',
      sourceId: 'xr-1',
      via: 'hotfolder',
      receivedAt: 1,
      capturedAt: null,
      waybill: null,
      files: [
        {
          kind: 'image',
          view: 'main',
          originalName: 'gone.jpg',
          from: join(inbox, 'gone.jpg'),
          to: join(layout.processing, 'x', 'main.jpg'),
        },
      ],
    });
    await new DurableIntake(store, layout, log, () => undefined).start();
    expect(store.scans.get('01JD3YYYYYYYYYYYYYYYYYYYYY')).toMatchObject({
      state: 'rejected',
      decision: 'REJECTED',
    });
  });
});
