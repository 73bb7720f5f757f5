import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { tipCommandSchema } from '../../adapters/mqtt/topics.js';
import { redactUrl } from '../../config/shared/log.js';
import type { Role, TokenAuth } from '../http/auth.js';
import { parseRequest } from '../http/parse.js';
import type { CameraUnit } from './camera-unit.js';
import type { Cameras } from './cameras.js';

/** Screeners see the cameras of their lines; the task force works from alerts, not camera views. */
export const VIEW_CAMERAS: readonly Role[] = ['screener', 'supervisor', 'admin'];
/** TIP is set by a supervisor by hand, or by the machine's own integration with a device token. */
const SET_TIP: readonly Role[] = ['supervisor', 'admin', 'device'];

const idParam = z.strictObject({ id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/i, 'not a camera id') });

/** What the API shows of a camera: never its credentials, not even inside a URL. */
export function cameraView(u: CameraUnit) {
  const c = u.config;
  const url = u.streamUrl();
  return {
    id: c.id,
    name: c.name,
    role: c.role,
    linkedTo: c.linkedTo,
    source: c.rtsp ? { rtsp: redactUrl(c.rtsp.url) } : { onvif: c.onvif!.xaddr },
    stream: url ? redactUrl(url) : null,
    status: u.status(),
    recorder: u.recorderStatus(),
    display: u.displayCounters(),
    links: {
      snapshot: `/api/v1/cameras/${c.id}/snapshot.jpg`,
      mjpeg: `/api/v1/cameras/${c.id}/live.mjpeg`,
      hls: `/api/v1/cameras/${c.id}/live.m3u8`,
    },
  };
}

export async function cameraStatusRoutes(
  app: FastifyInstance,
  o: { cameras: Cameras; auth: TokenAuth },
): Promise<void> {
  app.get('/api/v1/cameras', async (req) => {
    o.auth.authorize(req, { roles: VIEW_CAMERAS });
    return { cameras: o.cameras.list().map(cameraView) };
  });

  app.get('/api/v1/cameras/:id', async (req) => {
    o.auth.authorize(req, { roles: VIEW_CAMERAS });
    const { id } = parseRequest(idParam, req.params, 'id');
    return cameraView(o.cameras.get(id));
  });

  app.put('/api/v1/cameras/:id/tip', async (req) => {
    const { id } = parseRequest(idParam, req.params, 'id');
    const p = o.auth.authorize(req, { roles: SET_TIP, device: id });
    const body = parseRequest(tipCommandSchema, req.body, 'body');
    o.cameras.setTip(id, body.active, body.by ?? p.name);
    return { id, tip: body.active };
  });
}
