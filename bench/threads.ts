import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time per thread kind, from /proc (Linux only): where a pipeline's CPU goes, by the threads'
 * names (node main thread, libuv pool, worker threads, libvips, ...). Returns an empty map elsewhere.
 */
export function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  const tick = 1000 / 100; // USER_HZ is 100 on Linux: one tick is 10 ms
  for (const tid of tids) {
    try {
      const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8')
        .trim()
        .replace(/[0-9]+$/, '#');
      // Worker threads share the main thread's name; the main thread is the one whose tid is the pid.
      const comm = tid === String(process.pid) ? 'main' : process.env.BENCH_TIDS ? `${name}:${tid}` : name;
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = (Number(fields[11]) + Number(fields[12])) * tick;
      out.set(comm, (out.get(comm) ?? 0) + ms);
    } catch (err) {
      // A thread that ended between the listing and the read has nothing left to count.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ESRCH')
        throw err;
    }
  }
  return out;
}

export function cpuDelta(
  before: Map<string, number>,
  after: Map<string, number>,
  per: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of after) {
    const d = (v - (before.get(k) ?? 0)) / per;
    if (d >= 0.05) out[k] = Math.round(d * 10) / 10;
  }
  return out;
}
