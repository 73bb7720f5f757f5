import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PushNeed, xrayPushRoutes } from '../../../adapters/xray/http-push.js';
import { PgError } from '../../../config/shared/errors.js';
import {
  captureLogger,
  cleanup,
  FakeIntake,
  jpeg,
  LIMITS,
  machine,
  pngBomb,
  quarantined,
  quarantineFor,
  tempDir,
} from './helpers.js';

type Part =
  | { name: string; value: string; type?: string }
  | { name: string; filename?: string; data: Buffer; type?: string };

/** A hand-built multipart body, so tests control every byte (hostile file names included). */
function multipart(parts: Part[]): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '----pgtest7d3f9a';
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if ('data' in p) {
      head += `; filename="${p.filename ?? 'scan.jpg'}"\r\nContent-Type: ${p.type ?? 'image/jpeg'}\r\n\r\n`;
      chunks.push(Buffer.from(head), p.data, Buffer.from('\r\n'));
    } else {
      head += `${p.type ? `\r\nContent-Type: ${p.type}` : ''}\r\n\r\n`;
      chunks.push(Buffer.from(`${head}${p.value}\r\n`));
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(chunks),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

/** Stand-in for the gateway's token check: same contract (throws PgError AUTH_*). */
function fakeAuthorize(req: FastifyRequest, need: PushNeed): void {
  const token = req.headers.authorization;
  if (token === 'Bearer device-all') return;
  if (token === 'Bearer device-xr01') {
    if (need.device !== undefined && need.device !== 'xr-01')
      throw new PgError('AUTH_FORBIDDEN', 'token is scoped to another machine');
    return;
  }
  if (token === 'Bearer screener') throw new PgError('AUTH_FORBIDDEN', 'role "screener" may not do this');
  throw new PgError('AUTH_MISSING');
}

describe('POST /api/v1/scans', () => {
  let app: FastifyInstance;
  let dataDir: string;
  let intake: FakeIntake;
  let JPG: Buffer;
  let counted: Array<{ source: string; code: string }>;

  beforeAll(async () => {
    JPG = await jpeg();
    dataDir = await tempDir();
    intake = new FakeIntake(join(dataDir, 'processing'));
    const { log } = captureLogger();
    const qf = quarantineFor(dataDir, log);
    counted = qf.counted;
    app = Fastify();
    await app.register(xrayPushRoutes, {
      config: {
        dataDir,
        limits: LIMITS,
        http: { host: '127.0.0.1', port: 0, maxUploadMb: 0.6, tokens: [] },
        xray: [
          machine({ id: 'xr-01' }, null),
          machine({ id: 'xr-02', views: ['top', 'side'] }, null),
          machine({ id: 'xr-03', push: false }, null),
        ],
      },
      intake,
      quarantine: qf.q,
      log,
      authorize: fakeAuthorize,
    });
  });
  afterAll(async () => {
    await app.close();
    await cleanup(dataDir);
  });

  const post = (parts: Part[], token = 'device-all') =>
    app.inject({ method: 'POST', url: '/api/v1/scans', ...withAuth(multipart(parts), token) });
  const withAuth = (m: ReturnType<typeof multipart>, token: string) => ({
    payload: m.payload,
    headers: { ...m.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  const incomingLeft = async () => {
    try {
      return await readdir(join(dataDir, 'incoming'));
    } catch {
      // Not created yet: nothing left over either.
      return [];
    }
  };

  it('accepts a single-view scan: 201 with the scan id, files handed to the intake', async () => {
    const res = await post([
      { name: 'source', value: 'xr-01' },
      { name: 'image', filename: 'SF1_main.jpg', data: JPG },
    ]);
    expect(res.statusCode).toBe(201);
    const { scanId } = res.json() as { scanId: string };
    const sub = intake.submitted.find((s) => s.scanId === scanId);
    expect(sub).toMatchObject({
      sourceId: 'xr-01',
      via: 'http',
      images: [{ view: 'main', originalName: 'SF1_main.jpg' }],
    });
    expect((await stat(sub!.landed.main!)).size).toBe(JPG.length);
    expect(await incomingLeft()).toEqual([]);
  });

  it('accepts a dual-view scan with meta JSON, in any part order', async () => {
    const res = await post([
      { name: 'side', filename: 'b.jpg', data: JPG },
      {
        name: 'meta',
        value: JSON.stringify({
          source: 'xr-02',
          waybill: 'SF1234567890',
          capturedAt: '2026-11-22T10:15:03Z',
        }),
        type: 'application/json',
      },
      { name: 'top', filename: 'a.jpg', data: JPG },
    ]);
    expect(res.statusCode).toBe(201);
    const sub = intake.submitted.at(-1)!;
    expect(sub.images.map((i) => i.view)).toEqual(['side', 'top']);
    expect(sub.meta).toEqual({ waybill: 'SF1234567890', capturedAt: '2026-11-22T10:15:03Z' });
  });

  it('maps generic part names through meta.views', async () => {
    const res = await post([
      { name: 'meta', value: JSON.stringify({ source: 'xr-02', views: ['top', 'side'] }) },
      { name: 'file', data: JPG },
      { name: 'file', data: JPG },
    ]);
    expect(res.statusCode).toBe(201);
    expect(intake.submitted.at(-1)!.images.map((i) => i.view)).toEqual(['top', 'side']);
  });

  it.each([
    ['no token', '', 401, 'PG_AUTH_MISSING'],
    ['a screener token', 'screener', 403, 'PG_AUTH_FORBIDDEN'],
    ['a token scoped to another machine', 'device-xr01', 403, 'PG_AUTH_FORBIDDEN'],
  ])('refuses %s', async (_what, token, status, code) => {
    const before = intake.attempts;
    const res = await post(
      [
        { name: 'source', value: 'xr-02' },
        { name: 'top', data: JPG },
      ],
      token,
    );
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject({
      error: { code, message: expect.any(String), fix: expect.any(String) },
    });
    expect(intake.attempts).toBe(before);
    expect(await incomingLeft()).toEqual([]);
  });

  it('answers 413 for an oversized upload, removes the partial file and records the refusal', async () => {
    const big = await jpeg(2400, 1400, 7);
    expect(big.length).toBeGreaterThan(0.6 * 1024 * 1024);
    const res = await post([
      { name: 'source', value: 'xr-01' },
      { name: 'image', data: big },
    ]);
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('PG_UPLOAD_TOO_LARGE');
    expect(await incomingLeft()).toEqual([]);
    const q = (await quarantined(dataDir)).find((e) => e.reason.code === 'UPLOAD_TOO_LARGE');
    expect(q).toMatchObject({ files: [], reason: { source: 'xr-01' } });
  });

  it.each([
    [
      'a text file as the image',
      [{ name: 'image', filename: 'x.jpg', data: Buffer.from('not an image at all') }],
      415,
      'PG_IMAGE_UNSUPPORTED',
    ],
    [
      'a zero-byte image',
      [{ name: 'image', filename: 'x.jpg', data: Buffer.alloc(0) }],
      400,
      'PG_IMAGE_EMPTY',
    ],
    ['a PNG bomb', [{ name: 'image', filename: 'x.png', data: pngBomb() }], 413, 'PG_IMAGE_TOO_LARGE'],
    [
      'a path in the file name',
      [{ name: 'image', filename: '../../etc/x.jpg', data: Buffer.alloc(10, 1) }],
      400,
      'PG_FILENAME_HOSTILE',
    ],
    ['a view the machine lacks', [{ name: 'front', data: Buffer.alloc(10, 1) }], 422, 'PG_VIEW_UNKNOWN'],
  ] as Array<[string, Part[], number, string]>)('quarantines %s', async (_what, files, status, code) => {
    const before = (await quarantined(dataDir)).length;
    const res = await post([{ name: 'source', value: 'xr-01' }, ...files]);
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
    const after = await quarantined(dataDir);
    expect(after).toHaveLength(before + 1);
    const entry = after.find((e) => `PG_${e.reason.code}` === code && e.files.length > 0);
    expect(entry?.files).toEqual(expect.arrayContaining(['fields.json']));
    expect(counted.at(-1)).toEqual({ source: 'xr-01', code: code.slice(3) });
    expect(await incomingLeft()).toEqual([]);
  });

  it.each([
    ['an unknown machine', [{ name: 'source', value: 'xr-99' }], 404, 'PG_SOURCE_UNKNOWN'],
    ['a machine with push off', [{ name: 'source', value: 'xr-03' }], 404, 'PG_SOURCE_UNKNOWN'],
    ['no source', [], 400, 'PG_UPLOAD_INVALID'],
    ['malformed meta', [{ name: 'meta', value: '{"source": "xr-01", ' }], 400, 'PG_UPLOAD_INVALID'],
    [
      'a typo in meta',
      [{ name: 'meta', value: '{"source": "xr-01", "waybil": "x"}' }],
      400,
      'PG_UPLOAD_INVALID',
    ],
    [
      'an unexpected field',
      [
        { name: 'source', value: 'xr-01' },
        { name: 'waybill', value: 'x' },
      ],
      400,
      'PG_UPLOAD_INVALID',
    ],
  ] as Array<[string, Part[], number, string]>)(
    'refuses %s without touching the intake',
    async (_what, fields, status, code) => {
      const before = intake.attempts;
      const res = await post([...fields, { name: 'image', data: JPG }]);
      expect(res.statusCode).toBe(status);
      expect(res.json().error.code).toBe(code);
      expect(intake.attempts).toBe(before);
      expect(await incomingLeft()).toEqual([]);
    },
  );

  it('refuses uploads without images, with three images, or that are not multipart', async () => {
    expect((await post([{ name: 'source', value: 'xr-01' }])).json().error.code).toBe('PG_UPLOAD_INVALID');
    const small = await jpeg(32, 16);
    const three = await post([
      { name: 'source', value: 'xr-02' },
      ...['top', 'side', 'top'].map((name) => ({ name, data: small })),
    ]);
    expect([three.statusCode, three.json().error.code]).toEqual([400, 'PG_UPLOAD_INVALID']);
    const json = await app.inject({
      method: 'POST',
      url: '/api/v1/scans',
      payload: { source: 'xr-01' },
      headers: { authorization: 'Bearer device-all' },
    });
    expect([json.statusCode, json.json().error.code]).toEqual([400, 'PG_UPLOAD_INVALID']);
    const raw = await app.inject({
      method: 'POST',
      url: '/api/v1/scans',
      payload: JPG,
      headers: { authorization: 'Bearer device-all', 'content-type': 'image/jpeg' },
    });
    expect([raw.statusCode, raw.json().error.code]).toEqual([415, 'PG_UPLOAD_INVALID']);
    expect(await incomingLeft()).toEqual([]);
  });

  it('answers 500 STORE_FAILED when the intake fails, keeping nothing behind', async () => {
    intake.failNext = 1;
    const res = await post([
      { name: 'source', value: 'xr-01' },
      { name: 'image', data: JPG },
    ]);
    expect(res.statusCode).toBe(500);
    expect(res.json().error.code).toBe('PG_STORE_FAILED');
    expect(await incomingLeft()).toEqual([]);
  });
});

describe('POST /api/v1/scans over a real socket', () => {
  it('answers 413 mid-upload and the next request on the same client still works', async () => {
    const dataDir = await tempDir();
    const { log } = captureLogger();
    const app = Fastify();
    await app.register(xrayPushRoutes, {
      config: {
        dataDir,
        limits: LIMITS,
        http: { host: '127.0.0.1', port: 0, maxUploadMb: 0.1, tokens: [] },
        xray: [machine({}, null)],
      },
      intake: new FakeIntake(join(dataDir, 'processing')),
      quarantine: quarantineFor(dataDir, log).q,
      log,
      authorize: () => undefined,
    });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/api/v1/scans`;
      const form = (data: Buffer) => {
        const fd = new FormData();
        fd.append('source', 'xr-01');
        fd.append('image', new Blob([data]), 'a.jpg');
        return fd;
      };
      const big = await fetch(url, { method: 'POST', body: form(Buffer.alloc(8 * 1024 * 1024, 7)) });
      expect(big.status).toBe(413);
      expect(((await big.json()) as { error: { code: string } }).error.code).toBe('PG_UPLOAD_TOO_LARGE');
      const next = await fetch(url, {
        method: 'POST',
        body: form(await jpeg(200, 100)),
        signal: AbortSignal.timeout(5000),
      });
      expect(next.status).toBe(201);
    } finally {
      await app.close();
      await cleanup(dataDir);
    }
  });
});
