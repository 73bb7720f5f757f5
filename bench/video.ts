/**
 * The video section of `npm run bench`: what one analysed camera stream costs (CPU, RSS) at 2 fps of
 * 640×360 H.264, and how many such streams one gateway sustains before frames drop. Streams come from
 * Debian's GStreamer RTSP server on loopback, one shared encoder (the camera's cost stays flat and is
 * not counted); the gateway's own process and its ffmpeg children are measured from /proc.
 *
 * Sustained means, over the whole measuring window: every stream at ≥ 90 % of its analysis rate, no
 * frame dropped at the hand-off to analysis, no reconnect.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseConfig } from '../config/load.js';
import type { ModelConfig } from '../config/schema.js';
import { Gateway } from '../gateway/app.js';
import { startRtspServer } from '../test/support/rtsp-server.js';

const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

export interface VideoStep {
  streams: number;
  /** Mean over streams of the measured analysis rate. */
  fps: number;
  minFps: number;
  dropped: number;
  reconnects: number;
  /** Percent of one core: the gateway process (all threads) and its ffmpeg children. */
  cpuGateway: number;
  cpuFfmpeg: number;
  rssGatewayMb: number;
  /** Proportional set size of the ffmpeg children (shared libraries divided among them). */
  pssFfmpegMb: number;
  sustained: boolean;
}

export interface VideoBenchResult {
  mode: VideoMode;
  input: { width: number; height: number; cameraFps: number; analysisFps: number; codec: 'h264' };
  steps: VideoStep[];
  perStream: { cpuPercent: number; memoryMb: number; ffmpegCpuPercent: number; ffmpegPssMb: number };
  maxSustainedStreams: number;
  /** The first step that did not hold, and why; null when the largest step tried still held. */
  limit: string | null;
}

interface ProcSample {
  cpuTicks: number;
  pssKb: number;
}

function children(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.pid && stat.includes('(ffmpeg)')) out.push(Number(name));
    } catch (err) {
      // A process that exited between readdir and read: nothing to count.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ESRCH')
        throw err;
    }
  }
  return out;
}

function sample(pid: number): ProcSample {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // PSS, not RSS: every ffmpeg maps the same ~50 MB of codec libraries, which RSS would count N times.
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const pss = /^Pss:\s+(\d+)/m.exec(rollup)?.[1];
    return { cpuTicks: Number(f[11]) + Number(f[12]), pssKb: Number(pss ?? 0) };
  } catch {
    // Gone (a reconnecting reader replaced its ffmpeg): counts as nothing, the reconnect is counted.
    return { cpuTicks: 0, pssKb: 0 };
  }
}

/** `scene`: reader + tamper check per stream; `display`: reader + ROI crop + detector + tracker. */
export type VideoMode = 'scene' | 'display';

function benchConfig(dir: string, url: string, n: number, mode: VideoMode, model: ModelConfig) {
  return parseConfig(
    {
      version: 1,
      site: { id: 'bench-video', name: 'bench' },
      dataDir: join(dir, 'data'),
      log: { level: 'warn' },
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { embedded: { port: 0 } },
      inference: { workers: 2, intraOpThreads: 1 },
      models: [model],
      cameras: Array.from({ length: n }, (_, i) => ({
        id: `cam-${i + 1}`,
        name: `bench camera ${i + 1}`,
        rtsp: { url },
        stream: { fps: 2, width: 640, height: 360 },
        record: { enabled: false },
        ...(mode === 'display' ? { role: 'xray-display' as const, models: [model.name] } : {}),
      })),
    },
    { baseDir: dir },
  ).config;
}

async function measure(
  url: string,
  n: number,
  warmMs: number,
  windowMs: number,
  mode: VideoMode,
  model: ModelConfig,
): Promise<VideoStep> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-bench-video-'));
  const gateway = new Gateway({
    config: benchConfig(dir, url, n, mode, model),
    log: pino({ level: 'warn' }),
  });
  await gateway.start();
  try {
    await sleep(warmMs);
    const cams = gateway.cameras.list();
    const before = cams.map((c) => c.streamStatus());
    const kids0 = new Map(children().map((pid) => [pid, sample(pid)]));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let peakKids = 0;
    let peakSelf = 0;
    for (let t = 0; t < windowMs; t += 500) {
      await sleep(500);
      peakSelf = Math.max(peakSelf, process.memoryUsage().rss);
      peakKids = Math.max(
        peakKids,
        children().reduce((s, pid) => s + sample(pid).pssKb * 1024, 0),
      );
    }
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    let kidTicks = 0;
    for (const pid of children()) kidTicks += sample(pid).cpuTicks - (kids0.get(pid)?.cpuTicks ?? 0);
    const after = cams.map((c) => c.streamStatus());
    const fps = after.map((a, i) => ((a?.frames ?? 0) - (before[i]?.frames ?? 0)) / secs);
    const dropped = after.reduce((s, a, i) => s + (a?.dropped ?? 0) - (before[i]?.dropped ?? 0), 0);
    const reconnects = after.reduce((s, a, i) => s + (a?.reconnects ?? 0) - (before[i]?.reconnects ?? 0), 0);
    const minFps = Math.min(...fps);
    return {
      streams: n,
      fps: round(fps.reduce((a, b) => a + b, 0) / n, 2),
      minFps: round(minFps, 2),
      dropped,
      reconnects,
      cpuGateway: round(((cpu.user + cpu.system) / 1e6 / secs) * 100),
      cpuFfmpeg: round((kidTicks / TICK / secs) * 100),
      rssGatewayMb: round(peakSelf / 2 ** 20),
      pssFfmpegMb: round(peakKids / 2 ** 20),
      sustained: minFps >= 1.8 && dropped === 0 && reconnects === 0,
    };
  } finally {
    await gateway.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function videoBench(o: {
  mode: VideoMode;
  /** The detector of display mode (and loaded, unused, in scene mode: the gateway needs one). */
  model: ModelConfig;
  steps: number[];
  warmMs?: number;
  windowMs?: number;
  log: (m: string) => void;
}): Promise<VideoBenchResult> {
  const cameraFps = 25;
  const server = await startRtspServer({ width: 640, height: 360, fps: cameraFps, shared: true });
  const steps: VideoStep[] = [];
  let limit: string | null = null;
  try {
    // Zero streams: the gateway's own idle cost, subtracted from the per-stream figures.
    const idle = await measure(server.url('h264'), 0, 1000, 3000, o.mode, o.model);
    steps.push(idle);
    for (const n of o.steps) {
      // Cameras connect 150 ms apart (gateway/cameras/cameras.ts): the last must be up before measuring.
      const warm = (o.warmMs ?? 6000) + n * 150;
      const s = await measure(server.url('h264'), n, warm, o.windowMs ?? 10_000, o.mode, o.model);
      steps.push(s);
      o.log(
        `video ${o.mode}: ${n} stream(s): ${s.fps} fps (min ${s.minFps}), dropped ${s.dropped}, reconnects ${s.reconnects}, ` +
          `CPU gateway ${s.cpuGateway} % + ffmpeg ${s.cpuFfmpeg} %, memory ${s.rssGatewayMb} MB RSS + ffmpeg ${s.pssFfmpegMb} MB PSS`,
      );
      if (!s.sustained) {
        limit = `${n} streams: min ${s.minFps} fps, ${s.dropped} dropped, ${s.reconnects} reconnects`;
        break;
      }
    }
  } finally {
    await server.cleanup();
  }
  const held = steps.filter((s) => s.streams > 0 && s.sustained);
  const idle = steps[0]!;
  const one = held[0] ?? steps[1];
  const top = held.at(-1) ?? one;
  // Per stream from the largest sustained step: the slope over the idle gateway, not one stream's noise.
  const k = top && top.streams > 0 ? top.streams : 1;
  return {
    mode: o.mode,
    input: { width: 640, height: 360, cameraFps, analysisFps: 2, codec: 'h264' },
    steps,
    perStream: top
      ? {
          cpuPercent: round((top.cpuGateway - idle.cpuGateway + top.cpuFfmpeg) / k, 2),
          memoryMb: round((top.rssGatewayMb - idle.rssGatewayMb + top.pssFfmpegMb) / k, 1),
          ffmpegCpuPercent: round(top.cpuFfmpeg / k, 2),
          ffmpegPssMb: round(top.pssFfmpegMb / k, 1),
        }
      : {
          cpuPercent: Number.NaN,
          memoryMb: Number.NaN,
          ffmpegCpuPercent: Number.NaN,
          ffmpegPssMb: Number.NaN,
        },
    maxSustainedStreams: held.at(-1)?.streams ?? 0,
    limit,
  };
}
