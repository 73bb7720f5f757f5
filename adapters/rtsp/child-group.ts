/**
 * The ffmpeg children of one kind (stream readers, recorders, live views), tracked so that none
 * outlives the gateway: every child still running when Node exits is SIGKILLed, and tests can ask
 * which are alive. (If Node itself is SIGKILLed, a reader's ffmpeg dies on its next write to the broken
 * stdout pipe; a recorder's at its socket timeout.)
 */
import type { ChildProcess } from 'node:child_process';

const groups = new Set<ChildGroup>();
let exitHookInstalled = false;

export class ChildGroup {
  private readonly live = new Set<ChildProcess>();

  constructor() {
    groups.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const g of groups) for (const c of g.live) c.kill('SIGKILL');
      });
    }
  }

  /** Tracked until the process closes (or forget() is called on its exit). */
  track(child: ChildProcess): void {
    this.live.add(child);
    child.once('close', () => this.live.delete(child));
  }

  forget(child: ChildProcess): void {
    this.live.delete(child);
  }

  pids(): number[] {
    return [...this.live].flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
  }
}
