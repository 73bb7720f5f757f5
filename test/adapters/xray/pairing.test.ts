import { describe, expect, it } from 'vitest';
import {
  type Action,
  compileViewPattern,
  type Entry,
  type PairingRules,
  plan,
} from '../../../adapters/xray/pairing.js';

const DEFAULT_PATTERN = '^(?<key>.+?)[_-](?<view>top|side|main)$';

function rules(over: Partial<PairingRules> = {}): PairingRules {
  return {
    views: ['top', 'side'],
    completion: 'size-stable',
    stableMs: 100,
    pairTimeoutMs: 1000,
    viewPattern: compileViewPattern(DEFAULT_PATTERN, 'xr-01'),
    orphanMs: 5000,
    ...over,
  };
}

/** An entry first seen at `seen`, unchanged since, last statted at `statAt`. */
function entry(
  name: string,
  o: { mtime?: number; seen?: number; statAt?: number; kind?: Entry['kind'] } = {},
): Entry {
  const seen = o.seen ?? 0;
  return {
    raw: Buffer.from(name),
    name,
    statted: true,
    kind: o.kind ?? 'file',
    size: 10,
    mtimeMs: o.mtime ?? 1000,
    ino: 1,
    firstSeen: seen,
    changedAt: seen,
    lastStatAt: o.statAt ?? seen + 200,
    failures: 0,
  };
}

const describeAction = (a: Action) =>
  a.type === 'scan'
    ? `scan ${a.images.map((i) => `${i.name}=${i.view}`).join('+')}${a.companions.length ? ` with ${a.companions.map((c) => c.name).join(',')}` : ''}`
    : `reject ${a.entries.map((e) => e.name).join(',')} ${a.reason.code}`;

describe('planning a hot folder round', () => {
  it('pairs two views by key with their key sidecar, top before side', () => {
    const es = [entry('p1_side.jpg'), entry('p1_top.jpg'), entry('p1.json')];
    expect(plan(es, rules(), 300).map(describeAction)).toEqual([
      'scan p1_top.jpg=top+p1_side.jpg=side with p1.json',
    ]);
  });

  it('waits for the partner until pairTimeoutMs after the first view was complete', () => {
    const es = [entry('p2_top.jpg')];
    expect(plan(es, rules(), 300)).toEqual([]);
    expect(es[0]?.completeAt).toBe(300);
    expect(plan(es, rules(), 1299)).toEqual([]);
    expect(plan(es, rules(), 1300).map(describeAction)).toEqual(['scan p2_top.jpg=top']);
  });

  it('does not time out a pair while the partner exists but is still being written', () => {
    const es = [entry('p3_top.jpg'), entry('p3_side.jpg', { seen: 5000, statAt: 5000 })];
    expect(plan(es, rules(), 6000)).toEqual([]);
  });

  it('orders by mtime, not by name or listing order', () => {
    const es = [entry('c.jpg', { mtime: 3 }), entry('a.jpg', { mtime: 5 }), entry('b.jpg', { mtime: 1 })];
    expect(plan(es, rules({ views: ['main'] }), 300).map(describeAction)).toEqual([
      'scan b.jpg=main',
      'scan c.jpg=main',
      'scan a.jpg=main',
    ]);
  });

  it('holds a newer scan back while an older image is not yet confirmed stable, in size-stable mode only', () => {
    const older = entry('a.jpg', { mtime: 500, statAt: 50 }); // second stat 50 ms after the first
    const newer = entry('b.jpg', { mtime: 900 });
    expect(plan([older, newer], rules({ views: ['main'] }), 300)).toEqual([]);
    older.lastStatAt = 150;
    expect(plan([older, newer], rules({ views: ['main'] }), 300).map(describeAction)).toEqual([
      'scan a.jpg=main',
      'scan b.jpg=main',
    ]);
    // A file still being written is younger than what waits for it, so it holds nothing back.
    const writing = entry('c.jpg', { mtime: 2000, statAt: 50 });
    expect(plan([newer, writing], rules({ views: ['main'] }), 300).map(describeAction)).toEqual([
      'scan b.jpg=main',
    ]);
    const markers = rules({ views: ['main'], completion: 'done-marker' });
    const unmarked = entry('d.jpg', { mtime: 100 });
    expect(plan([unmarked, newer, entry('b.jpg.done')], markers, 300).map(describeAction)).toEqual([
      'scan b.jpg=main with b.jpg.done',
    ]);
  });

  it('screens an unpatterned image on a dual-view machine alone, and refuses a view the machine lacks', () => {
    const es = [entry('loose.jpg', { mtime: 1 }), entry('x_main.jpg', { mtime: 2 })];
    expect(plan(es, rules(), 300).map(describeAction)).toEqual([
      'scan loose.jpg=top',
      'reject x_main.jpg VIEW_UNKNOWN',
    ]);
  });

  it('gives a second file for a taken view its own scan instead of dropping it', () => {
    const es = [
      entry('k_top.jpg', { mtime: 1 }),
      entry('k_top.png', { mtime: 2 }),
      entry('k_side.jpg', { mtime: 3 }),
    ];
    expect(plan(es, rules(), 300).map(describeAction)).toEqual([
      'scan k_top.jpg=top+k_side.jpg=side',
      'scan k_top.png=top',
    ]);
  });

  it('leaves hidden housekeeping files alone but refuses a hidden image', () => {
    const es = [entry('.DS_Store'), entry('.nfs0000123'), entry('.sneaky.jpg')];
    expect(plan(es, rules(), 300).map(describeAction)).toEqual(['reject .sneaky.jpg FILENAME_HOSTILE']);
  });

  it('waits orphanMs before quarantining temp files and lone sidecars; other junk goes once stable', () => {
    const es = [entry('scan.jpg.tmp'), entry('lonely.json'), entry('notes.txt'), entry('notes.json')];
    expect(plan(es, rules(), 300).map(describeAction)).toEqual([
      'reject notes.txt,notes.json IMAGE_UNSUPPORTED',
    ]);
    const later = [entry('scan.jpg.tmp', { statAt: 6000 }), entry('lonely.json', { statAt: 6000 })];
    expect(plan(later, rules(), 6000).map(describeAction)).toEqual([
      'reject lonely.json SIDECAR_INVALID',
      'reject scan.jpg.tmp IMAGE_UNSUPPORTED',
    ]);
  });

  it('keeps a sidecar shared by x.jpg and x.txt with the image', () => {
    const es = [entry('x.jpg', { mtime: 1 }), entry('x.txt', { mtime: 2 }), entry('x.json')];
    expect(plan(es, rules({ views: ['main'] }), 300).map(describeAction)).toEqual([
      'scan x.jpg=main with x.json',
      'reject x.txt IMAGE_UNSUPPORTED',
    ]);
  });

  it('in done-marker mode takes a file only with its marker, in any of the three spellings', () => {
    const r = rules({ completion: 'done-marker' });
    expect(plan([entry('a_top.jpg'), entry('a_side.jpg')], r, 300)).toEqual([]);
    expect(
      plan([entry('a_top.jpg'), entry('a_side.jpg'), entry('a.done')], r, 300).map(describeAction),
    ).toEqual(['scan a_top.jpg=top+a_side.jpg=side with a.done']);
    expect(plan([entry('b.jpg'), entry('b.jpg.done')], r, 300).map(describeAction)).toEqual([
      'scan b.jpg=top with b.jpg.done',
    ]);
    expect(plan([entry('c.jpg'), entry('c.done')], r, 300).map(describeAction)).toEqual([
      'scan c.jpg=top with c.done',
    ]);
  });

  it('needs two stats stableMs apart before a file counts as stable', () => {
    const fresh = entry('f.jpg', { seen: 0, statAt: 50 });
    expect(plan([fresh], rules({ views: ['main'] }), 10_000)).toEqual([]);
  });

  it('refuses a view pattern without the named groups or that is not a regex', () => {
    expect(() => compileViewPattern('^(.+)_(top|side)$', 'xr-01')).toThrow(/named groups/);
    expect(() => compileViewPattern('(?<key>', 'xr-01')).toThrow(/not a valid regular expression/);
  });
});
