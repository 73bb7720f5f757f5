import { lstat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../config/shared/log.js';
import { decodeName, errnoCode, type FsPath } from './files.js';
import { escapeName } from './inspect.js';
import type { Entry } from './pairing.js';

/**
 * What the hot folder holds, as far as listings and stats have shown: one Entry per name, keyed by
 * the raw name bytes (names need not be valid UTF-8). Stats are rationed per poll so a folder with a
 * backlog of thousands of files is discovered over several polls instead of in one long burst.
 */
export class FolderIndex {
  private readonly entries = new Map<string, Entry>();
  /** Identities of files already handed over, in case a stale (network share) listing still shows them. */
  private readonly handedOver = new Map<string, string>();

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Takes a fresh listing: new names are added unstatted, vanished ones dropped. */
  update(names: Buffer[], now: number): void {
    const present = new Set<string>();
    for (const raw of names) {
      const k = raw.toString('latin1');
      present.add(k);
      if (this.entries.has(k)) continue;
      this.entries.set(k, {
        raw,
        name: decodeName(raw),
        statted: false,
        kind: 'other',
        size: 0,
        mtimeMs: 0,
        ino: 0,
        firstSeen: now,
        changedAt: now,
        lastStatAt: 0,
        failures: 0,
      });
    }
    for (const k of this.entries.keys()) if (!present.has(k)) this.entries.delete(k);
    for (const k of this.handedOver.keys()) if (!present.has(k)) this.handedOver.delete(k);
  }

  /**
   * Stats up to `budget` entries: never-statted ones first, then the least recently statted of those
   * still settling. Returns how many were statted.
   */
  async statSome(budget: number, concurrency: number, stopped: () => boolean): Promise<number> {
    const due = [...this.entries.values()].filter(
      (e) => !e.statted || (e.completeAt === undefined && e.kind !== 'dir' && e.kind !== 'other'),
    );
    due.sort((a, b) => a.lastStatAt - b.lastStatAt);
    const batch = due.slice(0, budget);
    let next = 0;
    const worker = async () => {
      while (next < batch.length && !stopped()) await this.statEntry(batch[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, batch.length) }, worker));
    return batch.length;
  }

  /** True while some listed entry has never been statted (its mtime, hence its place in line, is unknown). */
  undiscovered(): boolean {
    for (const e of this.entries.values()) if (!e.statted) return true;
    return false;
  }

  /** Entries to plan with: everything but files already handed over. */
  visible(): Entry[] {
    return [...this.entries.values()].filter((e) => !this.isHandedOver(e));
  }

  /** The file left the folder (or should have): never act on this identity again. */
  forget(e: Entry): void {
    const k = e.raw.toString('latin1');
    this.entries.delete(k);
    this.handedOver.set(k, identity(e));
  }

  /** Path of an entry; a Buffer when the name is not valid UTF-8. */
  pathOf(e: Entry): FsPath {
    return e.name !== null ? join(this.dir, e.name) : Buffer.concat([Buffer.from(this.dir + sep), e.raw]);
  }

  private isHandedOver(e: Entry): boolean {
    const k = e.raw.toString('latin1');
    const id = this.handedOver.get(k);
    if (id === undefined) return false;
    if (!e.statted || id === identity(e)) return true;
    // Same name, different file: a machine that reuses names wrote a new one.
    this.handedOver.delete(k);
    return false;
  }

  private async statEntry(e: Entry): Promise<void> {
    const at = performance.now();
    try {
      const st = await lstat(this.pathOf(e));
      const kind = st.isFile()
        ? 'file'
        : st.isDirectory()
          ? 'dir'
          : st.isSymbolicLink()
            ? 'symlink'
            : 'other';
      const changed =
        !e.statted || st.size !== e.size || st.mtimeMs !== e.mtimeMs || st.ino !== e.ino || kind !== e.kind;
      if (changed) {
        Object.assign(e, {
          kind,
          size: st.size,
          mtimeMs: st.mtimeMs,
          ino: st.ino,
          changedAt: at,
          completeAt: undefined,
        });
      }
      e.statted = true;
      e.lastStatAt = at;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        this.entries.delete(e.raw.toString('latin1'));
        return;
      }
      // Unreadable entry (permissions): note it once and leave it; it is not ours to fix or move.
      if (!e.statted)
        this.log.warn({ err, file: { name: escapeName(e.raw) } }, 'cannot stat file in hot folder');
      Object.assign(e, { statted: true, kind: 'other', lastStatAt: at });
    }
  }
}

function identity(e: Entry): string {
  return `${e.ino}:${e.size}:${e.mtimeMs}`;
}
