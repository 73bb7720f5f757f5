import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ulid } from 'ulid';
import { z } from 'zod';
import type { Config, XrayConfig } from '../../config/schema.js';
import { isPgError, PgError } from '../../config/shared/errors.js';
import type { Logger } from '../../config/shared/log.js';
import type { ScanIntake } from '../../config/shared/types.js';
import { errnoCode, removeFile } from './files.js';
import { checkFileName, EXT_OF_FORMAT, escapeName, inspectImage } from './inspect.js';
import type { Quarantine, QuarantineItem } from './quarantine.js';
import { capturedAtSchema, viewNameSchema, waybillSchema, zodIssues } from './sidecar.js';

/**
 * `POST /api/v1/scans` for machines and sorters that push instead of writing a folder. Multipart:
 * `source` (machine id) or `meta` (JSON: source, waybill, capturedAt, views), and one or two image
 * parts named after their views (`image` on a single-view machine). Parts stream to
 * `<dataDir>/incoming/`, pass the same checks as hot-folder files, and are handed to the intake.
 */

export interface PushNeed {
  role: 'device';
  /** Absent in the pre-handler (the body is not read yet): role only. Set once `source` is known. */
  device?: string;
}

export interface XrayPushOptions {
  config: Pick<Config, 'dataDir' | 'limits' | 'http' | 'xray'>;
  intake: ScanIntake;
  quarantine: Quarantine;
  log: Logger;
  /** Throws PgError AUTH_MISSING / AUTH_FORBIDDEN. */
  authorize: (request: FastifyRequest, need: PushNeed) => void | Promise<void>;
}

interface ReceivedFile {
  field: string;
  filename: string | undefined;
  tmp: string;
  bytes: number;
}

type Received =
  | { ok: true; fields: Map<string, unknown>; files: ReceivedFile[] }
  | { ok: false; fields: Map<string, unknown>; files: ReceivedFile[]; error: PgError; bytes: number };

const idSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/);
const metaSchema = z.strictObject({
  source: idSchema.optional(),
  waybill: waybillSchema,
  capturedAt: capturedAtSchema,
  views: z.array(viewNameSchema).min(1).max(2).optional(),
});
const FIELDS = new Set(['source', 'meta']);

export async function xrayPushRoutes(app: FastifyInstance, opts: XrayPushOptions): Promise<void> {
  const log = opts.log.child({ adapter: 'http-push' });
  const machines = new Map<string, XrayConfig>(opts.config.xray.map((x) => [x.id, x]));
  const incoming = join(opts.config.dataDir, 'incoming');
  const budget = Math.floor(opts.config.http.maxUploadMb * 1024 * 1024);

  // Registered here (scoped to this plugin) unless the server already has it.
  if (!app.hasRequestDecorator('parts')) await app.register(multipart);

  app.setErrorHandler((err, req, reply) => {
    const pg = asPgError(err);
    const status = pg.code === 'UPLOAD_INVALID' && statusOf(err) === 415 ? 415 : pg.status;
    // Refused before the body was read to its end (too large, unauthorised, malformed): the rest may
    // still be on its way. Closing the connection drops it; a kept-alive socket would sit on unread
    // bytes and hang the client's next request.
    if (!req.raw.readableEnded) reply.header('connection', 'close');
    if (status >= 500) req.log.error({ err }, 'scan push failed');
    else req.log.info({ code: pg.code, status }, 'scan push refused');
    return reply.status(status).send({ error: pg.toJSON() });
  });

  app.post(
    '/api/v1/scans',
    { preHandler: async (req) => opts.authorize(req, { role: 'device' }) },
    async (req, reply) => {
      if (!req.isMultipart()) throw new PgError('UPLOAD_INVALID', 'send multipart/form-data');
      await mkdir(incoming, { recursive: true });
      const rec = await receive(req, budget, incoming);
      try {
        if (!rec.ok) {
          if (rec.error.code === 'UPLOAD_TOO_LARGE') {
            // The partial data is not kept (it could fill the disk), but the refusal is recorded and counted.
            await opts.quarantine.put({
              sourceId: guessSource(rec.fields, machines),
              via: 'http',
              reason: rec.error,
              items: [],
              details: { bytesReceived: rec.bytes, limitBytes: budget },
            });
          }
          throw rec.error;
        }
        const meta = readMeta(rec.fields);
        await opts.authorize(req, { role: 'device', device: meta.source });
        const machine = machines.get(meta.source);
        if (!machine) throw new PgError('SOURCE_UNKNOWN');
        if (!machine.push)
          throw new PgError('SOURCE_UNKNOWN', 'this machine does not accept pushed scans (push: false)');

        const refuse = async (error: PgError): Promise<never> => {
          const items: QuarantineItem[] = rec.files.map((f) => ({
            path: f.tmp,
            originalName: f.filename ?? f.field,
          }));
          if (rec.fields.size > 0)
            items.push({
              data: Buffer.from(JSON.stringify(Object.fromEntries(rec.fields))),
              originalName: 'fields.json',
            });
          await opts.quarantine.put({ sourceId: machine.id, via: 'http', reason: error, items });
          throw error;
        };

        const views = assignViews(rec.files, machine, meta.views);
        if (views instanceof PgError) return await refuse(views);
        const images: Array<{ view: string; path: string; originalName: string }> = [];
        for (const [i, f] of rec.files.entries()) {
          const view = views[i]!;
          if (f.filename !== undefined) {
            const hostile = checkFileName(f.filename);
            if (hostile) return await refuse(hostile);
          }
          const r = await inspectImage(f.tmp, opts.config.limits);
          if (!r.ok) return await refuse(r.error);
          // The intake names its copy after this path's extension, so give it the real one.
          const path = join(incoming, `${ulid()}-${view}${EXT_OF_FORMAT[r.info.format]}`);
          await rename(f.tmp, path);
          f.tmp = path;
          images.push({ view, path, originalName: f.filename ?? `${view}${EXT_OF_FORMAT[r.info.format]}` });
        }

        let scanId: string;
        try {
          ({ scanId } = await opts.intake.submit({
            sourceId: machine.id,
            via: 'http',
            images,
            companions: [],
            meta: { waybill: meta.waybill ?? null, capturedAt: meta.capturedAt ?? null },
          }));
        } catch (err) {
          if (isPgError(err) && err.status < 500) return await refuse(err);
          log.error({ err, source: machine.id }, 'intake refused a pushed scan');
          throw new PgError('STORE_FAILED', 'the scan could not be recorded; send it again', { cause: err });
        }
        log.info(
          {
            scanId,
            source: machine.id,
            files: rec.files.map((f, i) => ({
              name: escapeName(f.filename ?? ''),
              view: views[i],
              bytes: f.bytes,
            })),
          },
          'pushed scan handed to intake',
        );
        return reply.status(201).send({ scanId });
      } finally {
        // Whatever was not handed over or quarantined is a leftover of this request.
        for (const f of rec.files) {
          await removeFile(f.tmp).catch((err: unknown) =>
            log.error({ err }, 'cannot remove upload temp file'),
          );
        }
      }
    },
  );
}

/** Streams every part: fields into a map, files to temp files, counting bytes against the budget. */
async function receive(req: FastifyRequest, budget: number, dir: string): Promise<Received> {
  const fields = new Map<string, unknown>();
  const files: ReceivedFile[] = [];
  let total = 0;
  try {
    const parts = req.parts({
      preservePath: true, // so `../x.jpg` is seen (and refused), not silently cut to `x.jpg`
      limits: { files: 2, fields: 4, fieldSize: 16 * 1024, parts: 8, fileSize: budget + 1, headerPairs: 50 },
    });
    for await (const part of parts) {
      if (part.type === 'field') {
        if (!FIELDS.has(part.fieldname))
          throw new PgError(
            'UPLOAD_INVALID',
            'unexpected form field; send `source` or `meta` and image parts',
          );
        if (fields.has(part.fieldname) || part.valueTruncated)
          throw new PgError('UPLOAD_INVALID', 'a form field is repeated or too long');
        fields.set(part.fieldname, part.value);
        continue;
      }
      const f: ReceivedFile = {
        field: part.fieldname,
        filename: part.filename || undefined,
        tmp: join(dir, `${ulid()}.part`),
        bytes: 0,
      };
      files.push(f);
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          f.bytes += chunk.length;
          total += chunk.length;
          if (total > budget)
            cb(new PgError('UPLOAD_TOO_LARGE', `more than ${budget} bytes (http.maxUploadMb)`));
          else cb(null, chunk);
        },
      });
      await pipeline(part.file, counter, createWriteStream(f.tmp, { flags: 'wx' }));
      if (part.file.truncated)
        throw new PgError('UPLOAD_TOO_LARGE', `more than ${budget} bytes (http.maxUploadMb)`);
    }
  } catch (err) {
    for (const f of files) await removeFile(f.tmp).catch(() => undefined);
    return { ok: false, fields, files: [], error: multipartError(err, budget), bytes: total };
  }
  if (files.length === 0) {
    return {
      ok: false,
      fields,
      files,
      error: new PgError('UPLOAD_INVALID', 'no image part in the upload'),
      bytes: total,
    };
  }
  return { ok: true, fields, files };
}

function readMeta(fields: Map<string, unknown>): z.output<typeof metaSchema> & { source: string } {
  let raw: unknown = {};
  const m = fields.get('meta');
  if (typeof m === 'string') {
    try {
      raw = JSON.parse(m);
    } catch {
      // JSON.parse quotes the input in its message; the fixed text below is all the client needs.
      throw new PgError('UPLOAD_INVALID', '`meta` is not valid JSON');
    }
  } else if (m !== undefined) {
    raw = m;
  }
  const parsed = metaSchema.safeParse(raw);
  if (!parsed.success) throw new PgError('UPLOAD_INVALID', `meta: ${zodIssues(parsed.error)}`);
  const field = fields.get('source');
  const source = typeof field === 'string' ? field : parsed.data.source;
  if (source === undefined)
    throw new PgError('UPLOAD_INVALID', 'name the machine in the `source` field or in `meta.source`');
  if (parsed.data.source !== undefined && parsed.data.source !== source) {
    throw new PgError('UPLOAD_INVALID', '`source` and `meta.source` disagree');
  }
  if (!idSchema.safeParse(source).success) throw new PgError('SOURCE_UNKNOWN');
  return { ...parsed.data, source };
}

/** The view of each file part, in order, or why they cannot be placed. */
function assignViews(
  files: ReceivedFile[],
  machine: XrayConfig,
  declared: string[] | undefined,
): string[] | PgError {
  const known = machine.views;
  const views = declared
    ? declared
    : files.map((f) => (f.field === 'image' && known.length === 1 ? known[0]! : f.field));
  if (declared && declared.length !== files.length) {
    return new PgError(
      'UPLOAD_INVALID',
      `meta.views names ${declared.length} view(s) for ${files.length} image part(s)`,
    );
  }
  const unknown = views.find((v) => !known.includes(v));
  if (unknown !== undefined) {
    const hint = known.length === 1 ? `"${known[0]}" or "image"` : known.map((v) => `"${v}"`).join(' and ');
    return new PgError('VIEW_UNKNOWN', `name image parts ${hint}`);
  }
  if (new Set(views).size !== views.length)
    return new PgError('UPLOAD_INVALID', 'the same view is sent twice');
  return views;
}

function guessSource(fields: Map<string, unknown>, machines: Map<string, XrayConfig>): string {
  const field = fields.get('source');
  return typeof field === 'string' && machines.has(field) ? field : 'unknown';
}

function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown }).statusCode;
  return typeof s === 'number' ? s : undefined;
}

function multipartError(err: unknown, budget: number): PgError {
  if (err instanceof PgError) return err;
  const code = errnoCode(err);
  if (code === 'FST_REQ_FILE_TOO_LARGE')
    return new PgError('UPLOAD_TOO_LARGE', `more than ${budget} bytes (http.maxUploadMb)`);
  if (code === 'FST_FILES_LIMIT') return new PgError('UPLOAD_INVALID', 'at most two image parts');
  if (code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT')
    return new PgError('UPLOAD_INVALID', 'too many form parts');
  if (code === 'FST_INVALID_JSON_FIELD_ERROR')
    return new PgError('UPLOAD_INVALID', '`meta` is not valid JSON');
  return new PgError('UPLOAD_INVALID', 'the multipart body is malformed or ended early', { cause: err });
}

/** Errors raised by fastify itself (content type, body parsing) answered in the catalogue's shape. */
function asPgError(err: unknown): PgError {
  if (err instanceof PgError) return err;
  const status = statusOf(err);
  if (status === 413) return new PgError('UPLOAD_TOO_LARGE');
  if (status !== undefined && status >= 400 && status < 500)
    return new PgError('UPLOAD_INVALID', 'send multipart/form-data', { cause: err });
  return new PgError('STORE_FAILED', 'the upload could not be handled', { cause: err });
}
