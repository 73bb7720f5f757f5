import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { PgError } from '../../config/shared/errors.js';
import { exists } from '../scans/files.js';
import type { DataLayout } from '../scans/layout.js';
import type { AlertRecord } from '../store/alerts.js';
import type { ScanRecord } from '../store/scans.js';
import type { Store } from '../store/store.js';
import { type Principal, READ_ALERTS, type TokenAuth } from './auth.js';
import { parseRequest } from './parse.js';

const listQuery = z.strictObject({
  category: z.enum(['prohibited', 'drug']).optional(),
  source: z.string().max(64).optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
const idParam = z.strictObject({ id: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'not an id') });
const viewParam = idParam.extend({ view: z.string().regex(/^[a-z0-9-]{1,16}$/) });

/** The task force is shown drug alerts only; everyone else with read access sees all. */
const visible = (p: Principal, a: AlertRecord) =>
  p.role !== 'taskforce' || a.message.categories.includes('drug');

const IMAGE_TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.bmp': 'image/bmp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
};

async function sendFile(reply: FastifyReply, path: string, ext: string) {
  if (!(await exists(path))) throw new PgError('NOT_FOUND', 'evidence file is gone (retention)');
  return reply
    .type(IMAGE_TYPES[ext] ?? 'application/octet-stream')
    .header('cache-control', 'private, max-age=86400')
    .send(createReadStream(path));
}

export async function alertRoutes(
  app: FastifyInstance,
  o: { store: Store; auth: TokenAuth; layout: DataLayout },
): Promise<void> {
  const { store, auth, layout } = o;

  app.get('/api/v1/alerts', async (req) => {
    const p = auth.authorize(req, { roles: READ_ALERTS });
    const q = parseRequest(listQuery, req.query, '(query)');
    const category = p.role === 'taskforce' ? 'drug' : q.category;
    const rows = store.alerts.list({ ...q, category }).filter((a) => visible(p, a));
    const last = rows[rows.length - 1];
    return {
      alerts: rows.map((a) => ({ ...a.message, state: a.state })),
      next: rows.length === q.limit && last ? last.seq : null,
    };
  });

  app.get('/api/v1/alerts/:id', async (req) => {
    const p = auth.authorize(req, { roles: READ_ALERTS });
    const { id } = parseRequest(idParam, req.params);
    const a = store.alerts.get(id);
    if (!a || !visible(p, a)) throw new PgError('NOT_FOUND', 'no such alert');
    return { ...a.message, state: a.state };
  });

  app.get('/api/v1/alerts/:id/annotated.jpg', async (req, reply) => {
    const p = auth.authorize(req, { roles: READ_ALERTS });
    const { id } = parseRequest(idParam, req.params);
    const a = store.alerts.get(id);
    if (!a || !visible(p, a)) throw new PgError('NOT_FOUND', 'no such alert');
    return sendFile(reply, join(layout.evidenceOf(a.scanId), 'annotated.jpg'), '.jpg');
  });

  // Display-capture alerts also keep an annotated crop around the threat.
  app.get('/api/v1/alerts/:id/crop.jpg', async (req, reply) => {
    const p = auth.authorize(req, { roles: READ_ALERTS });
    const { id } = parseRequest(idParam, req.params);
    const a = store.alerts.get(id);
    if (!a?.message.evidence.crop || !visible(p, a)) throw new PgError('NOT_FOUND', 'no crop for this alert');
    return sendFile(reply, join(layout.evidenceOf(a.scanId), 'crop.jpg'), '.jpg');
  });

  const scanView = (s: ScanRecord) => ({
    id: s.id,
    source: s.sourceId,
    via: s.via,
    state: s.state,
    receivedAt: new Date(s.receivedAt).toISOString(),
    capturedAt: s.capturedAt,
    waybill: s.waybill,
    decision: s.decision,
    detections: s.detections,
    models: s.models,
    timings: s.timings,
    alertId: s.alertId,
    error: s.errorCode ? { code: `PG_${s.errorCode}`, message: s.errorMessage } : null,
  });

  app.get('/api/v1/scans', async (req) => {
    auth.authorize(req, { roles: ['supervisor', 'admin'] });
    const q = parseRequest(listQuery.omit({ category: true }), req.query, '(query)');
    const rows = store.scans.list({ source: q.source, before: q.before, limit: q.limit });
    const last = rows[rows.length - 1];
    return { scans: rows.map(scanView), next: rows.length === q.limit && last ? last.seq : null };
  });

  app.get('/api/v1/scans/:id', async (req) => {
    auth.authorize(req, { roles: ['supervisor', 'admin'] });
    const s = store.scans.get(parseRequest(idParam, req.params).id);
    if (!s) throw new PgError('NOT_FOUND', 'no such scan');
    return scanView(s);
  });

  // Originals are kept as evidence for alarm scans only; a clear scan's images follow the site's
  // afterSuccess policy and are not served.
  app.get('/api/v1/scans/:id/views/:view', async (req, reply) => {
    const p = auth.authorize(req, { roles: READ_ALERTS });
    const { id, view } = parseRequest(viewParam, req.params);
    const s = store.scans.get(id);
    const alert = s?.alertId ? store.alerts.get(s.alertId) : undefined;
    const v = s?.views?.find((x) => x.view === view);
    if (!s || !alert || !v || !visible(p, alert))
      throw new PgError('NOT_FOUND', 'no evidence image for this scan and view');
    return sendFile(reply, join(layout.evidenceOf(s.id), `${v.view}${v.ext}`), v.ext);
  });
}
