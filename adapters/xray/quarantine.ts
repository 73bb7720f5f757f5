import { copyFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { ERRORS, errorMessage } from '../../config/shared/errors.js';
import type { Logger } from '../../config/shared/log.js';
import type { QuarantineReason } from '../../config/shared/types.js';
import { decodeName, extOf, type FsPath, moveFile } from './files.js';
import { checkFileName, escapeName } from './inspect.js';

/**
 * Bad input is kept, not deleted: `<dataDir>/quarantine/<timestamp>-<ulid>/` holds the offending
 * file(s) and a `reason.json` a technician can read. Quarantining is the last resort of error handling,
 * so it never throws; when even it fails the failure is logged and still counted.
 */

export type QuarantineItem =
  /** Move (or with `copy`, copy) a file in: from a hot folder, the upload area or the pipeline. */
  | { path: FsPath; originalName: string | Buffer; copy?: boolean }
  /** Write bytes that only exist in memory (an upload buffer, a rejected metadata field). */
  | { data: Buffer; originalName: string | Buffer };

export interface QuarantineRequest {
  sourceId: string;
  via: 'hotfolder' | 'http' | 'pipeline';
  /** A PgError fits: its `code` is the catalogue code, its message says what was wrong. */
  reason: QuarantineReason;
  items: QuarantineItem[];
  /** Extra trusted context for the reason file (sizes, limits); never raw untrusted strings. */
  details?: Record<string, unknown>;
}

export interface QuarantineResult {
  ok: boolean;
  /** The entry's directory, or null when not even that could be made. */
  dir: string | null;
  /** Items that could not be stored (they are still where they were). */
  failed: number;
}

export interface QuarantineOptions {
  dataDir: string;
  log: Logger;
  /** Metrics hook (`quarantined_total{source,code}`); called once per entry, even when storing failed. */
  onQuarantine?: (sourceId: string, code: string) => void;
  now?: () => Date;
}

interface StoredFile {
  name: string;
  originalName: string;
  stored: boolean;
  error?: string;
}

export class Quarantine {
  readonly root: string;
  private readonly now: () => Date;

  constructor(private readonly opts: QuarantineOptions) {
    this.root = join(opts.dataDir, 'quarantine');
    this.now = opts.now ?? (() => new Date());
  }

  async put(req: QuarantineRequest): Promise<QuarantineResult> {
    const at = this.now();
    const stamp = at.toISOString().replace(/[-:.]/g, '');
    const dir = join(this.root, `${stamp}-${ulid()}`);
    const names = storedNames(req.items);
    const files: StoredFile[] = req.items.map((it, i) => ({
      name: names[i]!,
      originalName: escapeName(it.originalName),
      stored: false,
    }));
    let result: QuarantineResult;
    try {
      await mkdir(dir, { recursive: true });
      for (const [i, item] of req.items.entries()) {
        const f = files[i]!;
        try {
          const target = join(dir, f.name);
          if ('data' in item) await writeFile(target, item.data, { flag: 'wx' });
          else if (item.copy) await copyFile(item.path, target);
          else await moveFile(item.path, target);
          f.stored = true;
        } catch (err) {
          f.error = errorMessage(err).replace(/'[^']*'/g, "'…'");
        }
      }
      const reason = {
        code: req.reason.code,
        message: req.reason.message,
        fix: req.reason.code in ERRORS ? ERRORS[req.reason.code as keyof typeof ERRORS].fix : null,
        source: req.sourceId,
        via: req.via,
        originalName: files[0]?.originalName ?? null,
        at: at.toISOString(),
        files,
        ...(req.details ? { details: req.details } : {}),
      };
      // Written last and atomically: a reason file present means the entry is complete.
      await writeFile(join(dir, 'reason.json.tmp'), `${JSON.stringify(reason, null, 2)}\n`);
      await rename(join(dir, 'reason.json.tmp'), join(dir, 'reason.json'));
      const failed = files.filter((f) => !f.stored).length;
      result = { ok: failed === 0, dir, failed };
      const log = {
        source: req.sourceId,
        code: req.reason.code,
        reason: { message: req.reason.message },
        quarantine: { dir },
        files: files.map((f) => ({ name: f.originalName })),
      };
      if (failed === 0) this.opts.log.warn(log, 'input quarantined');
      else this.opts.log.error({ ...log, failed }, 'input quarantined, but some files could not be stored');
    } catch (err) {
      this.opts.log.error(
        {
          err,
          source: req.sourceId,
          code: req.reason.code,
          files: files.map((f) => ({ name: f.originalName })),
        },
        'quarantine failed; the input stays where it was',
      );
      result = { ok: false, dir: null, failed: req.items.length };
    }
    try {
      this.opts.onQuarantine?.(req.sourceId, req.reason.code);
    } catch (err) {
      this.opts.log.error({ err }, 'quarantine metric hook threw');
    }
    return result;
  }
}

/**
 * The name each item is stored under: its own when that is safe, else a generated `file-N<ext>`.
 * Never `reason.json`, never twice the same.
 */
function storedNames(items: QuarantineItem[]): string[] {
  const used = new Set(['reason.json', 'reason.json.tmp']);
  return items.map((it, i) => {
    const original = typeof it.originalName === 'string' ? it.originalName : decodeName(it.originalName);
    let name: string;
    if (original !== null && checkFileName(original) === null && !used.has(original)) {
      name = original;
    } else {
      const ext = original !== null ? extOf(original) : '';
      name = `file-${i + 1}${/^\.[a-z0-9]{1,5}$/.test(ext) ? ext : ''}`;
      while (used.has(name)) name = `_${name}`;
    }
    used.add(name);
    return name;
  });
}
