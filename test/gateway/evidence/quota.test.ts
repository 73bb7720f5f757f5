/**
 * The evidence quota: over budget, rings shrink oldest first across cameras (never pinned video, never
 * the newest segments), clips of alerts still kept survive whatever the quota, expired ones go, and the
 * warning is raised once per kind of trouble.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { afterAll, describe, expect, it } from 'vitest';
import { EvidenceQuota, type QuotaWarning } from '../../../gateway/evidence/quota.js';
import { evidencePaths } from '../../../gateway/evidence/ring.js';
import { captureLog } from '../../adapters/rtsp/helpers.js';
import { makeSampleSegment, RingSource } from '../../support/evidence-media.js';

const root = mkdtempSync(join(tmpdir(), 'pg-quota-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const KB = 1024;

function clipDir(dataDir: string, alertId: string, files: Record<string, number>): string {
  const dir = evidencePaths(dataDir).clipsOf(alertId);
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), Buffer.alloc(bytes));
  return dir;
}

describe('EvidenceQuota', () => {
  const sample = makeSampleSegment(join(root, 'sample'));

  it('shrinks the rings before it touches a kept clip, and deletes clips nobody keeps', async () => {
    const dataDir = join(root, 'site');
    const paths = evidencePaths(dataDir);
    const cap = captureLog();
    const a = new RingSource('cam-a', paths.ringOf('cam-a'), sample, cap.log);
    const b = new RingSource('cam-b', paths.ringOf('cam-b'), sample, cap.log);
    const t0 = Date.now() - 60_000;
    a.fill(t0, 8);
    b.fill(t0 + 500, 8);
    const segBytes = a.segments()[0]!.bytes;
    const unpin = a.pin(t0, t0 + 1); // a pending clip needs cam-a's oldest segment

    const open = ulid();
    const expired = ulid();
    const waiting = ulid();
    const unsure = ulid();
    clipDir(dataDir, open, { 'cam-a.mp4': 100 * KB, 'cam-a.jpg': 5 * KB, 'cam-a.json': 200 });
    clipDir(dataDir, expired, { 'cam-a.mp4': 50 * KB });
    clipDir(dataDir, waiting, { 'cam-b.request.json': 100 });
    clipDir(dataDir, unsure, { 'cam-b.mp4': 1 * KB });
    const keep = new Map([
      [open, true],
      [expired, false],
      [waiting, false], // closed, but its clip is still being cut
    ]);
    const warnings: QuotaWarning[] = [];
    const clipBytes = 100 * KB + 5 * KB + 200 + 100 + 1 * KB;
    // Room for the clips and 10 of the 16 segments.
    const quotaBytes = clipBytes + 10 * segBytes + 10;
    const quota = new EvidenceQuota({
      paths,
      quotaMb: quotaBytes / 1024 / 1024,
      rings: () => [a, b],
      keepClipsOf: (id) => {
        if (id === unsure) throw new Error('store is busy');
        return keep.get(id) ?? false;
      },
      onWarning: (w) => warnings.push(w),
      log: cap.log,
    });

    const r = await quota.sweep();
    expect(r.deletedClips).toEqual([expired]);
    expect(readdirSync(paths.clipsRoot).sort()).toEqual([open, unsure, waiting].sort());
    expect(r.clipBytes).toBe(clipBytes);
    expect(r.over).toBe(false);
    expect(r.clipBytes + r.ringBytes).toBeLessThanOrEqual(quotaBytes);
    // Six segments went, the oldest across both cameras, except cam-a's pinned first one.
    expect(r.freedRingBytes).toBe(6 * segBytes);
    expect(a.segments().map((s) => s.startMs - t0)).toEqual([0, 4000, 5000, 6000, 7000]);
    expect(b.segments().map((s) => s.startMs - t0)).toEqual([3500, 4500, 5500, 6500, 7500]);
    expect(readdirSync(paths.ringOf('cam-b'))).toHaveLength(5);
    expect([a.limited, b.limited]).toEqual([true, true]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: 'EVIDENCE_QUOTA', quotaBytes, clipBytes });
    expect(warnings[0]!.message).toMatch(/^video evidence has reached its disk quota: rings shrunk/);
    const warned = cap.lines().filter((l) => l.level === 40 && l.code === 'EVIDENCE_QUOTA');
    expect(warned).toHaveLength(1);

    // Still biting on the next pass: no second warning for the same trouble.
    a.add(t0 + 8000);
    await quota.sweep();
    expect(warnings).toHaveLength(1);

    // Kept clips alone now exceed a smaller budget: the rings go down to their newest two segments
    // (and what is pinned), the clips stay, and the new kind of trouble is told.
    const tight = new EvidenceQuota({
      paths,
      quotaMb: (50 * KB) / 1024 / 1024,
      rings: () => [a, b],
      keepClipsOf: (id) => id !== expired,
      onWarning: (w) => warnings.push(w),
      log: cap.log,
    });
    const t = await tight.sweep();
    expect(t.over).toBe(true);
    expect(a.segments().map((s) => s.startMs - t0)).toEqual([0, 7000, 8000]);
    expect(b.segments()).toHaveLength(2);
    expect(readdirSync(paths.clipsOf(open)).sort()).toEqual(['cam-a.jpg', 'cam-a.json', 'cam-a.mp4']);
    expect(warnings.at(-1)!.message).toMatch(/clips of alerts still kept take/);

    // Back within budget: the rings are no longer held short.
    unpin();
    keep.set(open, false);
    const roomy = new EvidenceQuota({
      paths,
      quotaMb: 100,
      rings: () => [a, b],
      keepClipsOf: (id) => keep.get(id) ?? true,
      log: cap.log,
    });
    const back = await roomy.sweep();
    expect(back.deletedClips).toEqual([open]); // the one still being cut stays
    expect([a.limited, b.limited]).toEqual([false, false]);
  });

  it('sweeps on its own timer once started, and stops cleanly', async () => {
    const dataDir = join(root, 'timer');
    const paths = evidencePaths(dataDir);
    const gone = ulid();
    clipDir(dataDir, gone, { 'cam-a.mp4': 10 });
    const quota = new EvidenceQuota({
      paths,
      quotaMb: 100,
      rings: () => [],
      keepClipsOf: () => false,
      log: captureLog().log,
      intervalMs: 50,
    });
    await quota.start(new AbortController().signal);
    const deadline = Date.now() + 3000;
    while (readdirSync(paths.clipsRoot).length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    await quota.stop();
    expect(readdirSync(paths.clipsRoot)).toEqual([]);
  });
});
