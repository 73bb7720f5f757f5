import { PgError } from '../../config/shared/errors.js';
import { extOf, stemOf } from './files.js';
import { checkFileName, escapeName, IMAGE_EXTENSIONS } from './inspect.js';

/**
 * The hot folder's decisions, kept free of I/O so they can be reasoned about on their own: given what
 * the last listing and stats showed, which files are complete, which belong together as one scan,
 * which are bad, and in what order to act on them.
 */

/** What the watcher knows about one directory entry. Mutable: the watcher updates it on every stat. */
export interface Entry {
  /** Name bytes as listed; the only handle on a name that is not valid UTF-8. */
  raw: Buffer;
  /** Decoded name, or null when the bytes are not valid UTF-8. */
  name: string | null;
  statted: boolean;
  kind: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mtimeMs: number;
  ino: number;
  /** Monotonic ms when first listed. */
  firstSeen: number;
  /** Monotonic ms when size, mtime or inode last changed. */
  changedAt: number;
  /** Monotonic ms of the latest stat. Stability is what two stats at least `stableMs` apart agree on. */
  lastStatAt: number;
  /** Monotonic ms when first found complete (starts the pair timeout). */
  completeAt?: number;
  /** Monotonic ms before which no action involving this entry is retried. */
  retryAt?: number;
  failures: number;
  /** A warning about a long wait was already logged. */
  warned?: boolean;
}

export interface PairingRules {
  views: readonly string[];
  completion: 'size-stable' | 'done-marker';
  stableMs: number;
  pairTimeoutMs: number;
  viewPattern: RegExp;
  /** How long a sidecar/marker without an image, or a temp file, sits before it is quarantined. */
  orphanMs: number;
}

export interface ScanImagePlan {
  entry: Entry;
  name: string;
  view: string;
}

export type Action =
  | { type: 'scan'; order: number; images: ScanImagePlan[]; sidecars: Entry[]; companions: Entry[] }
  | { type: 'reject'; order: number; entries: Entry[]; reason: PgError };

// Names writers use while a file is still being copied; quarantining one early would break the copy.
const TEMP_SUFFIX = /(\.(tmp|temp|part|partial|filepart|crdownload|swp|lock)|~)$/i;

interface Group {
  patterned: boolean;
  key: string;
  images: ScanImagePlan[];
}

function minMtime(entries: Entry[]): number {
  let m = Number.POSITIVE_INFINITY;
  for (const e of entries) m = Math.min(m, e.mtimeMs);
  return m;
}

/** What a name says, worked out once per entry: an entry's name never changes, and plan runs every poll. */
interface NameFacts {
  pattern: RegExp;
  ext: string;
  stem: string;
  hostile: PgError | null;
  key: string | undefined;
  view: string | undefined;
}

const nameFacts = new WeakMap<Entry, NameFacts>();

function factsOf(e: Entry, name: string, pattern: RegExp): NameFacts {
  const known = nameFacts.get(e);
  if (known && known.pattern === pattern) return known;
  const stem = stemOf(name);
  const m = pattern.exec(stem)?.groups;
  const facts = { pattern, ext: extOf(name), stem, hostile: checkFileName(name), key: m?.key, view: m?.view };
  nameFacts.set(e, facts);
  return facts;
}

function imageComplete(
  img: ScanImagePlan,
  g: Group,
  rules: PairingRules,
  byName: Map<string, Entry>,
  stable: (e: Entry) => boolean,
): boolean {
  if (rules.completion === 'size-stable') return stable(img.entry);
  return (
    byName.has(`${img.name}.done`) ||
    byName.has(`${stemOf(img.name)}.done`) ||
    (g.patterned && byName.has(`${g.key}.done`))
  );
}

/** Decides the actions for this round, oldest first. Sets `completeAt` on entries found complete. */
export function plan(all: Iterable<Entry>, rules: PairingRules, now: number): Action[] {
  const stable = (e: Entry) => e.lastStatAt - e.changedAt >= rules.stableMs;
  const actions: Action[] = [];
  const reject = (entries: Entry[], reason: PgError) =>
    actions.push({ type: 'reject', order: minMtime(entries), entries, reason });

  const byName = new Map<string, Entry>();
  const images: Array<{ entry: Entry; name: string }> = [];
  const companionsSeen: Entry[] = [];
  const unsupported: Array<{ entry: Entry; name: string }> = [];
  for (const e of all) {
    if (!e.statted || e.kind === 'dir' || e.kind === 'other') continue;
    const name = e.name;
    if (name === null) {
      if (stable(e))
        reject(
          [e],
          new PgError('FILENAME_HOSTILE', 'name is not valid UTF-8', {
            details: { file: { name: escapeName(e.raw) } },
          }),
        );
      continue;
    }
    const { ext, hostile } = factsOf(e, name, rules.viewPattern);
    // Hidden files are the in-progress or housekeeping files of other tools (rsync and Samba temp
    // copies, NFS .nfsXXXX silly renames, .DS_Store): leave them be, unless one poses as an image.
    if (name.startsWith('.') && !IMAGE_EXTENSIONS.has(extOf(name.slice(1)))) continue;
    if (hostile) {
      if (stable(e)) reject([e], hostile);
      continue;
    }
    if (e.kind === 'symlink') {
      if (stable(e)) reject([e], new PgError('IMAGE_UNSUPPORTED', 'a symbolic link, not a file'));
      continue;
    }
    byName.set(name, e);
    if (ext === '.json' || ext === '.done') companionsSeen.push(e);
    else if (IMAGE_EXTENSIONS.has(ext)) images.push({ entry: e, name });
    else unsupported.push({ entry: e, name });
  }

  const claimed = new Set<Entry>();
  const existing = (names: string[]): Entry[] => {
    const out: Entry[] = [];
    for (const n of names) {
      const e = byName.get(n);
      if (e && !out.includes(e)) out.push(e);
    }
    return out;
  };

  // Arrival order across polls: in size-stable mode an older image whose stability is not yet
  // confirmed (its second stat fell just short of stableMs) would otherwise be overtaken by a newer
  // one confirmed in this poll. Waiting is safe: an image still being written has a fresh mtime, so it
  // never holds back the ones before it. Markers may never come, so done-marker mode does not wait.
  let oldestUnsettled = Number.POSITIVE_INFINITY;
  if (rules.completion === 'size-stable')
    for (const { entry } of images)
      if (!stable(entry)) oldestUnsettled = Math.min(oldestUnsettled, entry.mtimeMs);

  // Runs once per poll over every group, so a backlog of thousands of scans must cost little here:
  // no per-group closures or sets, and a single image (the common case) skips the sort.
  for (const g of groupImages(images, rules, reject).values()) {
    const sidecarNames = g.patterned ? [`${g.key}.json`] : [];
    const markerNames: string[] = [];
    for (const i of g.images) {
      const stem = stemOf(i.name);
      sidecarNames.push(`${stem}.json`);
      markerNames.push(`${i.name}.done`, `${stem}.done`);
    }
    if (g.patterned) markerNames.push(`${g.key}.done`);
    const sidecars = existing(sidecarNames);
    const markers = existing(markerNames);
    for (const c of sidecars) claimed.add(c);
    for (const c of markers) claimed.add(c);

    let allComplete = true;
    for (const img of g.images) {
      if (imageComplete(img, g, rules, byName, stable)) img.entry.completeAt ??= now;
      else allComplete = false;
    }
    const sidecarsReady = rules.completion === 'done-marker' || sidecars.every(stable);
    if (!allComplete || !sidecarsReady) continue;
    if (g.patterned && rules.views.length > 1 && g.images.length < rules.views.length) {
      let firstComplete = now;
      for (const i of g.images) firstComplete = Math.min(firstComplete, i.entry.completeAt ?? now);
      if (now - firstComplete < rules.pairTimeoutMs) continue;
    }
    const order = minMtime(g.images.map((i) => i.entry));
    if (order > oldestUnsettled) continue;
    const ordered =
      g.images.length === 1
        ? g.images
        : [...g.images].sort((a, b) => rules.views.indexOf(a.view) - rules.views.indexOf(b.view));
    const companions = sidecars.slice();
    for (const m of markers) if (!sidecars.includes(m)) companions.push(m);
    actions.push({
      type: 'scan',
      order,
      images: ordered,
      sidecars,
      companions,
    });
  }

  // After the image groups, so a sidecar shared by x.jpg and x.txt stays with the image.
  for (const { entry, name } of unsupported) {
    const temp = TEMP_SUFFIX.test(name);
    if (!stable(entry) || (temp && entry.lastStatAt - entry.changedAt < rules.orphanMs)) continue;
    const stem = stemOf(name);
    const companions = existing([`${stem}.json`, `${name}.done`, `${stem}.done`]).filter(
      (c) => !claimed.has(c),
    );
    for (const c of companions) claimed.add(c);
    const why = temp
      ? 'an unfinished temporary file that was abandoned'
      : 'file type is not JPEG, PNG, BMP or TIFF';
    reject([entry, ...companions], new PgError('IMAGE_UNSUPPORTED', why));
  }

  for (const c of companionsSeen) {
    if (claimed.has(c) || !stable(c) || now - c.firstSeen < rules.orphanMs) continue;
    reject([c], new PgError('SIDECAR_INVALID', 'a sidecar or .done marker with no matching image'));
  }

  const first = (a: Action) => (a.type === 'scan' ? a.images[0]!.entry : a.entries[0]!);
  return actions.sort((a, b) => {
    if (a.order !== b.order) return a.order - b.order;
    const ea = first(a);
    const eb = first(b);
    if (ea.firstSeen !== eb.firstSeen) return ea.firstSeen - eb.firstSeen;
    return Buffer.compare(ea.raw, eb.raw);
  });
}

/**
 * Views of one parcel share a key (`viewPattern`'s `key` group). A single-view machine takes every
 * image as its one view; a dual-view machine screens a name that does not follow the pattern as a
 * one-image scan (its sidecar may say which view), and refuses a view it does not have.
 */
function groupImages(
  images: Array<{ entry: Entry; name: string }>,
  rules: PairingRules,
  reject: (entries: Entry[], reason: PgError) => void,
): Map<string, Group> {
  const groups = new Map<string, Group>();
  const byAge = [...images].sort(
    (a, b) => a.entry.mtimeMs - b.entry.mtimeMs || a.entry.firstSeen - b.entry.firstSeen,
  );
  for (const { entry, name } of byAge) {
    const { stem, key, view } = factsOf(entry, name, rules.viewPattern);
    const single = { patterned: false, key: stem, images: [{ entry, name, view: rules.views[0]! }] };
    if (key === undefined || view === undefined || key === '') {
      groups.set(`i:${name}`, single);
    } else if (!rules.views.includes(view)) {
      if (rules.views.length === 1) groups.set(`i:${name}`, single);
      else if (entry.lastStatAt - entry.changedAt >= rules.stableMs)
        reject(
          [entry],
          new PgError('VIEW_UNKNOWN', `view "${view}" is not one of ${rules.views.join(', ')}`),
        );
    } else {
      const g = groups.get(`p:${key}`);
      if (!g) groups.set(`p:${key}`, { patterned: true, key, images: [{ entry, name, view }] });
      // A second file for a view already taken (x_top.jpg and x_top.png) is its own scan, never a silent drop.
      else if (g.images.some((i) => i.view === view))
        groups.set(`i:${name}`, { patterned: false, key: stem, images: [{ entry, name, view }] });
      else g.images.push({ entry, name, view });
    }
  }
  return groups;
}

/** The configured view pattern, refused at construction when it cannot do its job. */
export function compileViewPattern(pattern: string, machineId: string): RegExp {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (err) {
    throw new PgError(
      'CONFIG_INVALID',
      `xray "${machineId}": hotFolder.viewPattern is not a valid regular expression`,
      {
        cause: err,
      },
    );
  }
  // Matching the empty alternative lists every named group, matched or not.
  const groups = new RegExp(`${pattern}|`).exec('')?.groups ?? {};
  if (!('key' in groups) || !('view' in groups)) {
    throw new PgError(
      'CONFIG_INVALID',
      `xray "${machineId}": hotFolder.viewPattern needs named groups (?<key>…) and (?<view>…)`,
    );
  }
  return re;
}
