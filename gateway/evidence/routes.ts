/**
 * HTTP for video evidence: an alert's clip and snapshot, and a camera's live view (HLS playlist and
 * segments). Every name in a URL is matched against a strict pattern before it touches the disk, and
 * segments are looked up in the ring's own list, never joined onto a path from the request.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PgError } from '../../config/shared/errors.js';
import { parseRequest } from '../http/parse.js';
import { type LiveSessions, type LiveSource, livePlaylist } from './hls.js';
import { ALERT_ID, type EvidencePaths, parseSegmentName } from './ring.js';

export type EvidenceTarget =
  | { kind: 'clip'; alertId: string; cameraId: string }
  | { kind: 'live'; cameraId: string };

export interface EvidenceRoutesOptions {
  /** Throws a PgError (AUTH_MISSING, AUTH_FORBIDDEN, NOT_FOUND…) to refuse; may be async. */
  authorize(req: FastifyRequest, target: EvidenceTarget): void | Promise<void>;
  paths: Pick<EvidencePaths, 'clipsOf'>;
  /** Whether a camera id is configured. */
  isCamera(cameraId: string): boolean;
  /** The always-on ring of a camera, if it has one. */
  ringOf(cameraId: string): LiveSource | undefined;
  /** On-demand recorders for cameras without a ring; without it those cameras have no live view. */
  live?: LiveSessions;
  /** Segments in the live playlist; default 4. */
  playlistSize?: number;
  /** How long a playlist request waits for a fresh recorder's first segment; default 10 s. */
  firstSegmentWaitMs?: number;
}

const cameraId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'not a camera id');
const clipParams = z.strictObject({
  id: z.string().regex(ALERT_ID, 'not an alert id'),
  file: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}\.(mp4|jpg)$/, 'not a clip file name'),
});
const liveParams = z.strictObject({ id: cameraId });
const segmentParams = z.strictObject({
  id: cameraId,
  segment: z.string().refine((s) => parseSegmentName(s) !== null, 'not a segment name'),
});

const TYPES = { mp4: 'video/mp4', jpg: 'image/jpeg', ts: 'video/mp2t' } as const;

/**
 * Sends a file, honouring a single byte range: browsers' video elements seek with ranges, and Safari
 * will not play an MP4 served without them.
 */
async function sendFile(
  req: FastifyRequest,
  reply: FastifyReply,
  path: string,
  type: string,
  cache: string,
): Promise<FastifyReply> {
  // Opened before answering: a segment rotated out (or a clip expired) a moment ago is a clean 404,
  // and once open it stays readable even if it is deleted while it is sent.
  const fh = await open(path, 'r').catch(() => null);
  const st = await fh?.stat();
  if (!fh || !st?.isFile()) {
    await fh?.close();
    throw new PgError('NOT_FOUND', 'evidence file is not there (not cut yet, or expired)');
  }
  reply.type(type).header('cache-control', cache).header('accept-ranges', 'bytes');
  const range = req.headers.range;
  if (typeof range !== 'string') {
    return reply.header('content-length', st.size).send(fh.createReadStream());
  }
  const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  let start = m?.[1] ? Number(m[1]) : Number.NaN;
  let end = m?.[2] ? Number(m[2]) : st.size - 1;
  if (m && !m[1] && m[2]) {
    start = Math.max(0, st.size - Number(m[2])); // suffix range: the last N bytes
    end = st.size - 1;
  }
  end = Math.min(end, st.size - 1);
  if (!m || !Number.isFinite(start) || start > end || start >= st.size) {
    await fh.close();
    return reply.status(416).header('content-range', `bytes */${st.size}`).send();
  }
  return reply
    .status(206)
    .header('content-range', `bytes ${start}-${end}/${st.size}`)
    .header('content-length', end - start + 1)
    .send(fh.createReadStream({ start, end }));
}

export async function evidenceRoutes(app: FastifyInstance, o: EvidenceRoutesOptions): Promise<void> {
  const segmentMs = (src: LiveSource): number => {
    const last = src.segments().at(-1);
    return last ? last.endMs - last.startMs : 2000;
  };

  app.get('/api/v1/alerts/:id/clips/:file', async (req, reply) => {
    const { id, file } = parseRequest(clipParams, req.params);
    const [camera = '', ext = ''] = file.split('.');
    await o.authorize(req, { kind: 'clip', alertId: id, cameraId: camera });
    const type = ext === 'mp4' ? TYPES.mp4 : TYPES.jpg;
    // Evidence never changes once cut; private because it is behind a token.
    return sendFile(req, reply, join(o.paths.clipsOf(id), file), type, 'private, max-age=86400');
  });

  app.get('/api/v1/cameras/:id/live.m3u8', async (req, reply) => {
    const { id } = parseRequest(liveParams, req.params);
    await o.authorize(req, { kind: 'live', cameraId: id });
    if (!o.isCamera(id)) throw new PgError('CAMERA_UNKNOWN', `no camera "${id}"`);
    let src = o.ringOf(id);
    if (!src) {
      if (!o.live) throw new PgError('CAMERA_NO_FRAME', 'this camera has no live view');
      src = await o.live.ensureRunning(id, o.firstSegmentWaitMs ?? 10_000);
    }
    const newest = src.segments().at(-1);
    // A ring whose camera went down still holds video, but a "live" view of it would be a lie.
    if (!newest || Date.now() - newest.endMs > 3 * segmentMs(src) + 5000) {
      const st = src.status();
      throw new PgError('CAMERA_NO_FRAME', st.reason ?? 'no recent video');
    }
    const text = livePlaylist(id, src.segments(), o.playlistSize ?? 4) ?? '';
    return reply.type('application/vnd.apple.mpegurl').header('cache-control', 'no-cache').send(text);
  });

  app.get('/api/v1/cameras/:id/hls/:segment', async (req, reply) => {
    const { id, segment } = parseRequest(segmentParams, req.params);
    await o.authorize(req, { kind: 'live', cameraId: id });
    const seg = (o.ringOf(id) ?? o.live?.get(id))?.findSegment(segment);
    if (!seg) throw new PgError('NOT_FOUND', 'segment is not in the ring (rotated out)');
    return sendFile(req, reply, seg.path, TYPES.ts, 'private, max-age=60');
  });
}
