import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Gateway } from '../../../gateway/app.js';
import {
  ADMIN_TOKEN,
  bmpOf,
  DEVICE_TOKEN,
  dropScan,
  makeSite,
  parcelImage,
  type TestSite,
  waitFor,
} from '../../support/site.js';

/**
 * A decompression bomb: a well-formed PNG (signature, IHDR, IDAT, IEND) whose header claims
 * 50000×50000 RGB pixels (7.5 GB decoded). Only a few deflated rows are present, as in real bombs the
 * header is what must be refused, before any pixel is decoded.
 */
function pngBomb(): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(50_000, 0);
  ihdr.writeUInt32BE(50_000, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = deflateSync(Buffer.alloc((1 + 50_000 * 3) * 4));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', rows),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

interface Reason {
  code: string;
}

/** Complete entries only: the quarantine writes reason.json last, so an entry without one is still being written. */
function quarantineReasons(dataDir: string): Reason[] {
  const root = join(dataDir, 'quarantine');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((d) => join(root, d, 'reason.json'))
    .filter((f) => existsSync(f))
    .map((f) => JSON.parse(readFileSync(f, 'utf8')) as Reason);
}

let site: TestSite;
let gateway: Gateway;

beforeAll(async () => {
  // Embedded broker: this test is about input handling, not delivery.
  site = makeSite({ overrides: {} });
  gateway = new Gateway({ config: site.config, log: pino({ level: 'silent' }) });
  await gateway.start();
});
afterAll(async () => {
  await gateway?.stop();
  site?.cleanup();
});

it('each kind of bad input is quarantined with its reason, and the gateway keeps screening', {
  timeout: 60_000,
}, async () => {
  const good = await parcelImage('knife', 1);
  const inbox = site.inbox;
  writeFileSync(join(inbox, 'empty.jpg'), Buffer.alloc(0));
  writeFileSync(join(inbox, 'truncated.jpg'), good.subarray(0, Math.floor(good.length / 2)));
  writeFileSync(join(inbox, 'notes.jpg'), 'this is a text file, not an image\n');
  writeFileSync(join(inbox, 'bomb.png'), pngBomb());
  writeFileSync(join(inbox, '-rf.jpg'), good);
  writeFileSync(join(inbox, 'evil\nname.jpg'), good);
  writeFileSync(join(inbox, 'bidi\u202Egpj.jpg'), good);
  writeFileSync(join(inbox, 'badmeta.jpg'), good);
  writeFileSync(join(inbox, 'badmeta.json'), '{"waybill": ');

  const expected = [
    'IMAGE_EMPTY',
    'IMAGE_CORRUPT',
    'IMAGE_UNSUPPORTED',
    'IMAGE_TOO_LARGE',
    'FILENAME_HOSTILE',
    'FILENAME_HOSTILE',
    'FILENAME_HOSTILE',
    'SIDECAR_INVALID',
  ];
  await waitFor(
    'every bad input quarantined',
    () => quarantineReasons(site.dataDir).length >= expected.length,
    20_000,
  );
  expect(
    quarantineReasons(site.dataDir)
      .map((r) => r.code)
      .sort(),
  ).toEqual(expected.sort());

  // Oversized upload over HTTP push (limit 2 MB): refused with the catalogue code, nothing left behind.
  const boundary = 'pgboundary';
  const big = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="source"\r\n\r\nxr-1\r\n--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    ),
    good,
    Buffer.alloc(3 * 1024 * 1024, 1),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const res = await gateway.server.inject({
    method: 'POST',
    url: '/api/v1/scans',
    headers: {
      authorization: `Bearer ${DEVICE_TOKEN}`,
      'content-type': `multipart/form-data; boundary=${boundary}`,
    },
    payload: big,
  });
  expect(res.statusCode).toBe(413);
  expect((res.json() as { error: { code: string } }).error.code).toBe('PG_UPLOAD_TOO_LARGE');

  // Still healthy, and a good scan right after is screened and alerts as usual.
  expect((await gateway.server.inject({ url: '/healthz' })).statusCode).toBe(200);
  await dropScan(inbox, 'after', good, 'SFAFTER0001');
  await waitFor(
    'the good scan after the bad ones is screened',
    () => gateway.store.alerts.count() === 1,
    20_000,
  );
  // A BMP export (decoded by our own decoder in a worker thread) screens like any other image.
  writeFileSync(join(inbox, 'bmp-parcel.json'), JSON.stringify({ waybill: 'SFBMP0001' }));
  writeFileSync(join(inbox, 'bmp-parcel.bmp'), await bmpOf(good));
  await waitFor('the BMP scan is screened', () => gateway.store.alerts.count() === 2, 20_000);
  const bmpAlert = gateway.store.alerts.list({ limit: 1 })[0]!.message;
  expect(bmpAlert.scan.waybill).toBe('SFBMP0001');
  expect(bmpAlert.machine.items.map((i) => i.label)).toEqual(['knife']);

  // The truncated JPEG got past the cheap checks, was claimed, and is in the ledger as rejected.
  const ledger = gateway.store.scans.list({ limit: 50 });
  expect(ledger.filter((s) => s.decision === 'REJECTED').map((s) => s.errorCode)).toEqual(['IMAGE_CORRUPT']);

  const metrics = await gateway.server.inject({
    url: '/metrics',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  expect(metrics.body).toMatch(/parcelguard_quarantined_total\{source="xr-1",code="IMAGE_CORRUPT"\} 1/);
  expect(metrics.body).toMatch(/parcelguard_quarantined_total\{source="xr-1",code="FILENAME_HOSTILE"\} 3/);
});
