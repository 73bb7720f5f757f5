import { readdir } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { XrayConfig } from '../../config/schema.js';
import { isPgError, PgError } from '../../config/shared/errors.js';
import type { Component, DeviceStatus } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';
import type { ScanIntake, ScanMeta } from '../../config/shared/types.js';
import { DeviceStatusBoard } from './device-status.js';
import { errnoCode, extOf } from './files.js';
import { FolderIndex } from './folder-index.js';
import { escapeName, IMAGE_EXTENSIONS, type ImageLimits, inspectImage } from './inspect.js';
import { type Action, compileViewPattern, type Entry, type PairingRules, plan } from './pairing.js';
import { PollTimer } from './poll-timer.js';
import type { Quarantine } from './quarantine.js';
import { readSidecar } from './sidecar.js';

export interface HotFolderTuning {
  /** lstat calls per poll; a backlog of 10 000 files is discovered over several polls. */
  maxStatsPerPoll: number;
  statConcurrency: number;
  /** Submissions and quarantines per poll, so a poll ends and the listing is refreshed. */
  maxActionsPerPoll: number;
  /** A sidecar/marker with no image, or an abandoned temp file, is quarantined after this long. */
  orphanMs: number;
  maxBackoffMs: number;
  /** Use fs.watch events to poll sooner. Only a hint: polling alone is correct. */
  watchHint: boolean;
}

export const DEFAULT_TUNING: HotFolderTuning = {
  maxStatsPerPoll: 2000,
  statConcurrency: 16,
  maxActionsPerPoll: 64,
  orphanMs: 10 * 60_000,
  maxBackoffMs: 30_000,
  watchHint: true,
};

export interface HotFolderOptions {
  /** The machine; `hotFolder` must be set. */
  machine: XrayConfig;
  /** Absolute folder path: `hotFolder.path` resolved against the config file's directory. */
  dir: string;
  limits: ImageLimits;
  intake: ScanIntake;
  quarantine: Quarantine;
  log: Logger;
  /** Metrics hook for refused submissions (they are retried). */
  onSubmitFailed?: (sourceId: string) => void;
  tuning?: Partial<HotFolderTuning>;
}

// Refusals by the intake that are about the input itself: retrying cannot help, quarantine can.
const INPUT_CODES = new Set([
  'IMAGE_EMPTY',
  'IMAGE_UNSUPPORTED',
  'IMAGE_CORRUPT',
  'IMAGE_TOO_LARGE',
  'SIDECAR_INVALID',
  'FILENAME_HOSTILE',
  'VIEW_UNKNOWN',
]);

/**
 * Watches one machine's export folder by polling (fs.watch misses events on network shares and under
 * load, so it only wakes the poll early). Complete files are grouped into scans, checked, and handed
 * to the intake one at a time, oldest first; bad input goes to quarantine. It never throws into the
 * gateway: a missing folder makes it `offline` and it keeps trying.
 */
export class HotFolderWatcher implements Component {
  readonly name: string;
  private readonly sourceId: string;
  private readonly rules: PairingRules & { pollMs: number };
  private readonly tuning: HotFolderTuning;
  private readonly log: Logger;
  private readonly index: FolderIndex;
  private readonly board: DeviceStatusBoard;
  private readonly timer: PollTimer;
  private stopped = true;
  private loop: Promise<void> | null = null;
  private readonly counters = { polls: 0, submitted: 0, quarantined: 0, submitFailures: 0 };
  private lastPoll = { listed: 0, statted: 0, actions: 0, waiting: 0 };

  constructor(private readonly opts: HotFolderOptions) {
    const hf = opts.machine.hotFolder;
    if (!hf) throw new PgError('CONFIG_INVALID', `xray "${opts.machine.id}" has no hotFolder`);
    this.sourceId = opts.machine.id;
    this.name = `xray-hotfolder:${opts.machine.id}`;
    this.log = opts.log.child({ source: opts.machine.id, adapter: 'hotfolder' });
    this.tuning = { ...DEFAULT_TUNING, ...opts.tuning };
    this.rules = {
      views: opts.machine.views,
      completion: hf.completion,
      stableMs: hf.stableMs,
      pairTimeoutMs: hf.pairTimeoutMs,
      pollMs: hf.pollMs,
      viewPattern: compileViewPattern(hf.viewPattern, opts.machine.id),
      orphanMs: this.tuning.orphanMs,
    };
    this.index = new FolderIndex(opts.dir, this.log);
    this.board = new DeviceStatusBoard(opts.machine.id, this.log);
    this.timer = new PollTimer(hf.pollMs, this.log, this.tuning.watchHint);
  }

  async start(signal: AbortSignal): Promise<void> {
    if (!this.stopped || signal.aborted) return;
    this.stopped = false;
    this.timer.reset();
    signal.addEventListener('abort', () => void this.stop(), { once: true });
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer.cancel();
    // An in-flight submit is allowed to finish: the intake's claim is what makes it safe to stop.
    await this.loop;
    this.loop = null;
  }

  status(): DeviceStatus {
    return this.board.get();
  }

  /** Called on every state change; returns an unsubscribe function. */
  onStatus(listener: (s: DeviceStatus) => void): () => void {
    return this.board.subscribe(listener);
  }

  stats() {
    return { ...this.counters, lastPoll: { ...this.lastPoll } };
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.timer.pollStarted();
      try {
        await this.pollOnce();
      } catch (err) {
        // pollOnce handles expected failures itself; this is the net under it so the loop never dies.
        this.log.error({ err }, 'hot folder poll failed');
      }
      if (!this.stopped) await this.timer.sleep();
    }
  }

  private async pollOnce(): Promise<void> {
    this.counters.polls += 1;
    let names: Buffer[];
    try {
      names = await readdir(this.opts.dir, { encoding: 'buffer' });
    } catch (err) {
      this.timer.unwatch();
      const reason = offlineWhy(err);
      if (this.board.setOffline(reason))
        this.log.warn({ err, dir: this.opts.dir }, `hot folder offline: ${reason}; retrying`);
      return;
    }
    if (this.board.setOffline(null)) this.log.info({ dir: this.opts.dir }, 'hot folder online');
    this.timer.watch(this.opts.dir);

    this.index.update(names, performance.now());
    const statted = await this.index.statSome(
      this.tuning.maxStatsPerPoll,
      this.tuning.statConcurrency,
      () => this.stopped,
    );
    const undiscovered = this.index.undiscovered();
    this.lastPoll = { listed: names.length, statted, actions: 0, waiting: this.index.size };
    // Arrival order needs every file's mtime: while a backlog is still being discovered, act on nothing.
    if (undiscovered || this.stopped) return;

    const t = performance.now();
    const visible = this.index.visible();
    const actions = plan(visible, this.rules, t);
    this.warnLongWaits(visible, t);
    let done = 0;
    for (const action of actions) {
      if (this.stopped || done >= this.tuning.maxActionsPerPoll) break;
      const involved =
        action.type === 'scan'
          ? [...action.images.map((i) => i.entry), ...action.companions]
          : action.entries;
      if (involved.some((e) => (e.retryAt ?? 0) > t)) continue;
      done += 1;
      const outcome =
        action.type === 'scan'
          ? await this.handleScan(action)
          : await this.reject(action.entries, action.reason);
      // After a refused submit the intake is likely down; leave the rest for the next poll.
      if (outcome === 'halt') break;
    }
    this.lastPoll.actions = done;
  }

  private async handleScan(action: Extract<Action, { type: 'scan' }>): Promise<'ok' | 'halt'> {
    const all = [...action.images.map((i) => i.entry), ...action.companions];
    const meta: ScanMeta = { waybill: null, capturedAt: null };
    let sidecarView: string | null = null;
    for (const sc of action.sidecars) {
      const r = await readSidecar(this.index.pathOf(sc) as string);
      if (!r.ok) return this.reject(all, r.error);
      meta.waybill ??= r.value.waybill;
      meta.capturedAt ??= r.value.capturedAt;
      sidecarView ??= r.value.view;
    }
    const images = action.images.map((i) => ({ ...i }));
    const only = images.length === 1 ? images[0] : undefined;
    if (only && sidecarView !== null) {
      if (!this.rules.views.includes(sidecarView)) {
        return this.reject(
          all,
          new PgError(
            'VIEW_UNKNOWN',
            `sidecar view "${sidecarView}" is not one of ${this.rules.views.join(', ')}`,
          ),
        );
      }
      only.view = sidecarView;
    }

    const good: typeof images = [];
    const bad: Array<{ entry: Entry; error: PgError }> = [];
    for (const img of images) {
      const r = await inspectImage(this.index.pathOf(img.entry) as string, this.opts.limits);
      if (r.ok) good.push(img);
      else bad.push({ entry: img.entry, error: r.error });
    }
    // One bad view does not stop the parcel being screened on the other.
    if (good.length === 0) return this.reject(all, bad[0]!.error);
    for (const b of bad) await this.reject([b.entry], b.error);

    const files = good.map((g) => ({ name: g.name, view: g.view }));
    try {
      const { scanId } = await this.opts.intake.submit({
        sourceId: this.sourceId,
        via: 'hotfolder',
        images: good.map((g) => ({
          view: g.view,
          path: this.index.pathOf(g.entry) as string,
          originalName: g.name,
        })),
        companions: action.companions.map((c) => this.index.pathOf(c) as string),
        meta,
      });
      this.counters.submitted += 1;
      for (const e of [...good.map((g) => g.entry), ...action.companions]) this.index.forget(e);
      this.board.seen();
      this.board.setProblem('submit', null);
      this.log.info({ scanId, files, waybill: meta.waybill }, 'scan handed to intake');
      return 'ok';
    } catch (err) {
      if (isPgError(err) && INPUT_CODES.has(err.code))
        return this.reject([...good.map((g) => g.entry), ...action.companions], err);
      this.counters.submitFailures += 1;
      const involved = [...good.map((g) => g.entry), ...action.companions];
      const attempt = this.backoff(involved);
      this.board.setProblem('submit', 'the intake refuses scans; they wait in the folder and are retried');
      this.log.warn(
        { err, files, attempt },
        'intake refused the scan; it stays in the folder and is retried',
      );
      try {
        this.opts.onSubmitFailed?.(this.sourceId);
      } catch (hookErr) {
        this.log.error({ err: hookErr }, 'submit-failure metric hook threw');
      }
      return 'halt';
    }
  }

  private async reject(entries: Entry[], reason: PgError): Promise<'ok'> {
    const res = await this.opts.quarantine.put({
      sourceId: this.sourceId,
      via: 'hotfolder',
      reason,
      items: entries.map((e) => ({ path: this.index.pathOf(e), originalName: e.name ?? e.raw })),
    });
    this.counters.quarantined += 1;
    if (res.ok) {
      for (const e of entries) this.index.forget(e);
      this.board.setProblem('quarantine', null);
    } else {
      // Whatever could not be moved is still here; try again later rather than every poll.
      this.backoff(entries);
      this.board.setProblem('quarantine', 'bad input cannot be moved to quarantine');
    }
    return 'ok';
  }

  private backoff(entries: Entry[]): number {
    const failures = Math.max(...entries.map((e) => e.failures)) + 1;
    const delay = Math.min(this.tuning.maxBackoffMs, this.rules.pollMs * 2 ** failures);
    const until = performance.now() + delay;
    for (const e of entries) Object.assign(e, { failures, retryAt: until });
    return failures;
  }

  private warnLongWaits(entries: Entry[], now: number): void {
    for (const e of entries) {
      if (
        e.warned ||
        e.completeAt !== undefined ||
        e.kind !== 'file' ||
        e.name === null ||
        !IMAGE_EXTENSIONS.has(extOf(e.name)) ||
        now - e.firstSeen < this.tuning.orphanMs
      )
        continue;
      e.warned = true;
      const why =
        this.rules.completion === 'done-marker'
          ? 'no .done marker'
          : 'still changing or waiting for a partner';
      this.log.warn(
        { file: { name: escapeName(e.raw) }, waitedMs: Math.round(now - e.firstSeen), why },
        'file has waited long in the hot folder',
      );
    }
  }
}

function offlineWhy(err: unknown): string {
  switch (errnoCode(err)) {
    case 'ENOENT':
      return 'hot folder does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'hot folder is not readable';
    case 'ENOTDIR':
      return 'hot folder path is not a directory';
    default:
      return `hot folder cannot be listed (${errnoCode(err) ?? 'error'})`;
  }
}
