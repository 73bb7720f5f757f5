/**
 * Evidence files cut from a ring: an MP4 clip of whole segments (stream copy, so a cut costs disk I/O,
 * not CPU, and its precision is one segment) and a JPEG snapshot decoded from one segment. Both are
 * written under a temporary name and renamed, so a reader never sees half a file.
 */
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { runFfmpeg } from './ffmpeg-process.js';
import type { Segment } from './ring.js';

export interface CutOptions {
  /** Default `ffmpeg` from PATH. */
  ffmpegPath?: string;
  /** Per ffmpeg run, default 60 s. */
  timeoutMs?: number;
}

export interface ClipSpan {
  /** Wall-clock span of the video in the clip: first segment's start, last segment's end. */
  startMs: number;
  endMs: number;
  segments: number;
}

/** Single-quoted for ffconcat: a quote inside is closed, escaped and reopened. */
function quote(path: string): string {
  return `'${path.replace(/'/g, "'\\''")}'`;
}

/**
 * Concatenates `segments` (oldest first) into an MP4 at `out`. The concat demuxer rebases each file's
 * timestamps on the sum of the files before it, so segments of different ffmpeg processes (a reconnect
 * inside the clip) join without timestamp errors; the time lost in the gap is simply not in the clip.
 * The wall-clock start goes into the MP4's `creation_time`, where any player or ffprobe can read it.
 */
export async function cutClip(
  segments: readonly Segment[],
  out: string,
  o: CutOptions = {},
): Promise<ClipSpan> {
  const first = segments[0];
  const last = segments[segments.length - 1];
  if (!first || !last) throw new Error('no segments to cut');
  const list = `${out}.concat.txt`;
  const tmp = `${out}.part`;
  await writeFile(list, `ffconcat version 1.0\n${segments.map((s) => `file ${quote(s.path)}\n`).join('')}`);
  try {
    await runFfmpeg(
      o.ffmpegPath ?? 'ffmpeg',
      [
        ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error'],
        // -safe 0: the list names absolute paths (ours, built from checked ids), which "safe" mode refuses.
        ...['-f', 'concat', '-safe', '0', '-i', list],
        ...['-map', '0:v:0', '-c', 'copy', '-movflags', '+faststart'],
        ...['-metadata', `creation_time=${new Date(first.startMs).toISOString()}`],
        ...['-f', 'mp4', '-y', tmp],
      ],
      o.timeoutMs ?? 60_000,
    );
    await rename(tmp, out);
  } finally {
    await rm(list, { force: true });
    await rm(tmp, { force: true });
  }
  return { startMs: first.startMs, endMs: last.endMs, segments: segments.length };
}

/**
 * One frame at `atMs` from the segment that holds it, as JPEG. The seek is on the output side (decode
 * from the segment's start and drop frames up to the time): input-side `-ss` in a short MPEG-TS file
 * found no frame at all in a measured run, and a segment is only seconds of decoding.
 */
export async function snapshotAt(
  segment: Segment,
  atMs: number,
  out: string,
  o: CutOptions & { quality?: number } = {},
): Promise<void> {
  const durationS = (segment.endMs - segment.startMs) / 1000;
  const offsetS = Math.min(Math.max(0, (atMs - segment.startMs) / 1000), Math.max(0, durationS - 0.05));
  const tmp = `${out}.part`;
  // mjpeg's -q:v runs 2 (best) to 31; the config's jpegQuality is 30–100.
  const q = String(Math.round(2 + ((100 - (o.quality ?? 85)) / 70) * 29));
  const attempt = async (seekS: number): Promise<boolean> => {
    await runFfmpeg(
      o.ffmpegPath ?? 'ffmpeg',
      [
        ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error'],
        ...['-i', segment.path, '-ss', seekS.toFixed(3), '-map', '0:v:0', '-frames:v', '1'],
        ...['-c:v', 'mjpeg', '-q:v', q, '-update', '1', '-f', 'image2', '-y', tmp],
      ],
      o.timeoutMs ?? 60_000,
    );
    return ((await stat(tmp).catch(() => null))?.size ?? 0) > 0;
  };
  try {
    // A time past the segment's last frame yields nothing; its first frame is then the nearest there is.
    if (!(await attempt(offsetS)) && !(await attempt(0))) throw new Error('segment holds no decodable frame');
    await rename(tmp, out);
  } finally {
    await rm(tmp, { force: true });
  }
}
