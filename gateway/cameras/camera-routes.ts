/**
 * A camera's current picture and its live view over HTTP:
 *
 *   GET /api/v1/cameras/:id/snapshot.jpg   one JPEG (the camera's own snapshot, or the latest frame)
 *   GET /api/v1/cameras/:id/live.mjpeg     multipart/x-mixed-replace MJPEG, for an <img> tag
 *
 * Authorisation comes first, so a caller without a token cannot even learn which camera ids exist.
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { RtspTransport } from '../../adapters/rtsp/ffmpeg-args.js';
import { PgError } from '../../config/shared/errors.js';
import { parseRequest } from '../http/parse.js';
import { type LiveView, MJPEG_CONTENT_TYPE } from './live-view.js';

/** What the routes need of one camera. */
export interface CameraHandle {
  id: string;
  name: string;
  /** The credentialed stream URL, for ffmpeg only (never logged or returned); null while unresolved. */
  streamUrl(): string | null;
  transport?: RtspTransport;
  timeoutMs?: number;
  /** The current JPEG (CameraSnapshot.snapshot); throws a PgError such as CAMERA_NO_FRAME. */
  snapshot(signal?: AbortSignal): Promise<Buffer>;
}

export interface CameraRoutesOptions {
  /** Throws (a PgError: AUTH_MISSING, AUTH_FORBIDDEN) when the request may not see cameras. */
  authorize(req: FastifyRequest): void;
  /** The camera with this id, or undefined. */
  lookup(id: string): CameraHandle | undefined;
  liveView: LiveView;
}

// The camera id rule of config/schema.ts.
const idParam = z.strictObject({ id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'not a camera id') });

function cameraOf(o: CameraRoutesOptions, params: unknown): CameraHandle {
  const { id } = parseRequest(idParam, params, 'id');
  const camera = o.lookup(id);
  if (!camera) throw new PgError('CAMERA_UNKNOWN', id);
  return camera;
}

/** Aborts when the client goes away, so no work goes on for nobody. */
function clientGone(reply: FastifyReply): { signal: AbortSignal; done: () => void } {
  const ac = new AbortController();
  // The response's 'close' (not the request's, which fires once a GET is read) is the client leaving.
  const res = reply.raw;
  const onClose = () => ac.abort();
  res.once('close', onClose);
  return { signal: ac.signal, done: () => res.off('close', onClose) };
}

export async function cameraRoutes(app: FastifyInstance, o: CameraRoutesOptions): Promise<void> {
  // Open MJPEG responses never end by themselves, and the server's close waits for them.
  app.addHook('preClose', (done) => {
    o.liveView.endViewers();
    done();
  });

  app.get('/api/v1/cameras/:id/snapshot.jpg', async (req, reply) => {
    o.authorize(req);
    const camera = cameraOf(o, req.params);
    const gone = clientGone(reply);
    try {
      const jpeg = await camera.snapshot(gone.signal);
      return reply.type('image/jpeg').header('cache-control', 'no-store').send(jpeg);
    } catch (err) {
      // Nobody is left to tell, and a client leaving is not a gateway error worth logging.
      if (gone.signal.aborted) return reply.hijack();
      throw err;
    } finally {
      gone.done();
    }
  });

  // No automatic HEAD route: fastify would drain a HEAD's body stream forever, keeping ffmpeg running.
  app.get('/api/v1/cameras/:id/live.mjpeg', { exposeHeadRoute: false }, async (req, reply) => {
    o.authorize(req);
    const camera = cameraOf(o, req.params);
    const url = camera.streamUrl();
    if (!url) throw new PgError('CAMERA_NO_FRAME', `camera "${camera.id}" has no stream address yet`);
    const gone = clientGone(reply);
    let stream: Readable;
    try {
      stream = await o.liveView.open(
        { id: camera.id, url, transport: camera.transport, timeoutMs: camera.timeoutMs },
        gone.signal,
      );
    } catch (err) {
      if (gone.signal.aborted) return reply.hijack();
      throw err;
    } finally {
      gone.done();
    }
    return reply
      .type(MJPEG_CONTENT_TYPE)
      .header('cache-control', 'no-store, no-cache, must-revalidate')
      .header('pragma', 'no-cache')
      .send(stream);
  });
}
