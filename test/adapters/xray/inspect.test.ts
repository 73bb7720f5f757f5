import { readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBmp, readBmpHeader } from '../../../adapters/xray/bmp.js';
import { checkFileName, escapeName, inspectImage, sniffFormat } from '../../../adapters/xray/inspect.js';
import { Quarantine } from '../../../adapters/xray/quarantine.js';
import { parseSidecar } from '../../../adapters/xray/sidecar.js';
import { PgError } from '../../../config/shared/errors.js';
import { bmp, captureLogger, cleanup, jpeg, LIMITS, png, pngBomb, quarantined, tempDir } from './helpers.js';

describe('file names', () => {
  it.each([
    ['scan_0001.jpg', null],
    ['SF1234567890-top.JPG', null],
    ['a.b.c.tiff', null],
    ['new\nline.jpg', 'control'],
    ['tab\there.jpg', 'control'],
    ['bidi\u202Egpj.exe.jpg', 'control'],
    ['zero\u200Bwidth.jpg', 'control'],
    ['-rf.jpg', 'dash'],
    ['.hidden.jpg', 'dot'],
    ['..', 'dot'],
    ['../x.jpg', 'separator'],
    ['dir\\x.jpg', 'separator'],
    ['space name.jpg', 'characters other'],
    ['ümlaut.jpg', 'characters other'],
    ['', 'empty'],
    [`${'a'.repeat(197)}.jpg`, 'longer'],
  ])('%j → %s', (name, why) => {
    const err = checkFileName(name);
    if (why === null) expect(err).toBeNull();
    else {
      expect(err?.code).toBe('FILENAME_HOSTILE');
      expect(err?.message).toContain(why);
      // The message is logged and answered: it must not carry the name itself.
      if (name.length > 2) expect(err?.message).not.toContain(name);
    }
  });

  it('refuses bytes that are not UTF-8 and escapes every unprintable character', () => {
    const raw = Buffer.from([0x61, 0xff, 0x0a, 0x2e, 0x6a, 0x70, 0x67]);
    expect(checkFileName(raw)?.message).toContain('UTF-8');
    expect(escapeName(raw)).toBe('a\\xff\\x0a.jpg');
    expect(escapeName('evil\n\u202Ename.jpg')).toBe('evil\\u{a}\\u{202e}name.jpg');
    expect(escapeName('back\\slash')).toBe('back\\u{5c}slash');
  });
});

describe('sniffing and header checks', () => {
  let dir: string;
  const limits = LIMITS;
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(() => cleanup(dir));

  const put = async (name: string, data: Buffer | string) => {
    const p = join(dir, name);
    await writeFile(p, data);
    return p;
  };

  it('knows the four formats by their magic bytes, whatever the extension', async () => {
    expect(sniffFormat(await jpeg(32, 16))).toBe('jpeg');
    expect(sniffFormat(await png())).toBe('png');
    expect(sniffFormat(bmp(4, 4))).toBe('bmp');
    expect(
      sniffFormat(
        await sharp(await png())
          .tiff()
          .toBuffer(),
      ),
    ).toBe('tiff');
    expect(sniffFormat(Buffer.from('hello, this is not an image'))).toBeNull();
  });

  it('accepts a 1180×640 JPEG and reports its size', async () => {
    const r = await inspectImage(await put('ok.jpg', await jpeg()), limits);
    expect(r).toMatchObject({ ok: true, info: { format: 'jpeg', width: 1180, height: 640 } });
  });

  it('accepts a PNG named .jpg (content decides) and a BMP, which sharp cannot read', async () => {
    expect(await inspectImage(await put('png-named.jpg', await png(30, 20)), limits)).toMatchObject({
      ok: true,
      info: { format: 'png' },
    });
    expect(await inspectImage(await put('b.bmp', bmp(300, 200)), limits)).toMatchObject({
      ok: true,
      info: { format: 'bmp', width: 300, height: 200 },
    });
  });

  it('lets a truncated JPEG through: its header is intact, decoding later finds the damage', async () => {
    const full = await jpeg();
    const r = await inspectImage(
      await put('trunc.jpg', full.subarray(0, Math.floor(full.length / 2))),
      limits,
    );
    expect(r.ok).toBe(true);
  });

  const code = (r: Awaited<ReturnType<typeof inspectImage>>) => (r.ok ? 'ok' : r.error.code);

  it('refuses zero bytes, text posing as JPEG, a corrupt header, a PNG bomb and oversized files', async () => {
    expect(code(await inspectImage(await put('empty.jpg', ''), limits))).toBe('IMAGE_EMPTY');
    expect(
      code(await inspectImage(await put('text.jpg', 'GET / HTTP/1.1\r\n\r\nnot an image'), limits)),
    ).toBe('IMAGE_UNSUPPORTED');
    expect(
      code(await inspectImage(await put('hdr.jpg', Buffer.from([0xff, 0xd8, 0xff, 0, 1, 2, 3])), limits)),
    ).toBe('IMAGE_CORRUPT');
    const bomb = await inspectImage(await put('bomb.png', pngBomb()), limits);
    expect(code(bomb)).toBe('IMAGE_TOO_LARGE');
    expect(bomb.ok ? '' : bomb.error.message).toContain('maxImagePixels');
    expect(
      code(await inspectImage(await put('bmpbomb.bmp', bmp(8000, 6000).subarray(0, 2000)), limits)),
    ).toBe('IMAGE_TOO_LARGE');
    expect(
      code(await inspectImage(await put('big.jpg', await jpeg()), { ...limits, maxImageBytes: 1000 })),
    ).toBe('IMAGE_TOO_LARGE');
    expect(code(await inspectImage(join(dir, 'missing.jpg'), limits))).toBe('IMAGE_CORRUPT');
  });

  it('does not follow symlinks', async () => {
    const target = await put('target.jpg', await jpeg(32, 16));
    await symlink(target, join(dir, 'link.jpg'));
    expect(code(await inspectImage(join(dir, 'link.jpg'), limits))).toBe('IMAGE_CORRUPT');
  });
});

describe('BMP', () => {
  it('decodes 24-bit and 8-bit palette BMPs pixel for pixel', () => {
    for (const bits of [24, 8] as const) {
      const img = decodeBmp(bmp(7, 3, bits), 1e6);
      expect([img.width, img.height]).toEqual([7, 3]);
      const px = (x: number, y: number) => [...img.data.subarray((y * 7 + x) * 3, (y * 7 + x) * 3 + 3)];
      expect(px(0, 0)).toEqual([0, 0, 0]);
      expect(px(6, 2)).toEqual(bits === 24 ? [255, 0, 0] : [255, 255, 255]);
    }
  });

  it('refuses compressed, truncated and oversized BMPs with the right code', () => {
    const rle = bmp(4, 4);
    rle.writeUInt32LE(1, 30);
    expect(() => readBmpHeader(rle)).toThrow(expect.objectContaining({ code: 'IMAGE_UNSUPPORTED' }));
    expect(() => decodeBmp(bmp(40, 40).subarray(0, 200), 1e6)).toThrow(
      expect.objectContaining({ code: 'IMAGE_CORRUPT' }),
    );
    expect(() => decodeBmp(bmp(40, 40), 100)).toThrow(expect.objectContaining({ code: 'IMAGE_TOO_LARGE' }));
  });
});

describe('sidecar', () => {
  it.each([
    [
      '{"waybill":"SF1234567890","capturedAt":"2026-11-22T10:15:03.412Z","view":"top","machineId":"XR-4"}',
      null,
    ],
    ['\uFEFF{"waybill":"SF1"}', null],
    ['{"waybill":"","capturedAt":null,"vendorLane":7}', null],
    ['{"capturedAt":"2026-11-22T10:15:03"}', null],
    ['{"waybill": ', 'not valid JSON'],
    ['[1,2]', 'not a JSON object'],
    [`{"waybill":"${'9'.repeat(65)}"}`, 'waybill'],
    ['{"waybill":"SF1; DROP TABLE"}', 'waybill'],
    ['{"capturedAt":"yesterday"}', 'capturedAt'],
    ['{"view":"TOP SIDE"}', 'view'],
  ])('%s → %s', (text, why) => {
    const r = parseSidecar(text);
    if (why === null) expect(r.ok).toBe(true);
    else {
      expect(r.ok).toBe(false);
      expect(r.ok ? '' : r.error.code).toBe('SIDECAR_INVALID');
      expect(r.ok ? '' : r.error.message).toContain(why);
    }
  });

  it('normalises empty strings to null', () => {
    expect(parseSidecar('{"waybill":"","view":""}')).toEqual({
      ok: true,
      value: { waybill: null, machineId: null, view: null, capturedAt: null },
    });
  });
});

describe('quarantine', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await tempDir();
  });
  afterAll(() => cleanup(dataDir));

  it('moves files in, writes bytes, names hostile files safely and explains in reason.json', async () => {
    const { log } = captureLogger();
    const counted: string[] = [];
    const q = new Quarantine({ dataDir, log, onQuarantine: (s, c) => counted.push(`${s}/${c}`) });
    const src = join(dataDir, 'evil\nname.jpg');
    await writeFile(src, 'x');
    const r = await q.put({
      sourceId: 'xr-01',
      via: 'hotfolder',
      reason: new PgError('FILENAME_HOSTILE', 'name contains control characters'),
      items: [
        { path: src, originalName: 'evil\nname.jpg' },
        { data: Buffer.from('{}'), originalName: 'reason.json' },
        { data: Buffer.from('ok'), originalName: 'plain.json' },
      ],
    });
    expect(r).toMatchObject({ ok: true, failed: 0 });
    expect(counted).toEqual(['xr-01/FILENAME_HOSTILE']);
    const [entry] = await quarantined(dataDir);
    expect(entry?.files).toEqual(['file-1.jpg', 'file-2.json', 'plain.json']);
    expect(entry?.reason).toMatchObject({
      code: 'FILENAME_HOSTILE',
      source: 'xr-01',
      originalName: 'evil\\u{a}name.jpg',
    });
    expect(await readFile(join(entry!.dir, 'file-1.jpg'), 'utf8')).toBe('x');
    expect(await readdir(dataDir)).toEqual(['quarantine']);
    await cleanup(join(dataDir, 'quarantine'));
  });

  it('never throws: a missing file or an unwritable data dir is logged and still counted', async () => {
    const { log, lines } = captureLogger();
    const counted: string[] = [];
    // A data "directory" that is a file: mkdir fails at once (ENOTDIR), like a broken mount would.
    const notADir = join(dataDir, 'not-a-dir');
    await writeFile(notADir, '');
    const q = new Quarantine({
      dataDir: notADir,
      log,
      onQuarantine: (_s, c) => {
        counted.push(c);
        throw new Error('metrics broken');
      },
    });
    const r = await q.put({
      sourceId: 'xr-01',
      via: 'http',
      reason: new PgError('IMAGE_EMPTY'),
      items: [{ path: '/nonexistent', originalName: 'a.jpg' }],
    });
    expect(r).toEqual({ ok: false, dir: null, failed: 1 });
    expect(counted).toEqual(['IMAGE_EMPTY']);
    expect(lines().map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'quarantine failed; the input stays where it was',
        'quarantine metric hook threw',
      ]),
    );

    const q2 = new Quarantine({ dataDir, log });
    const r2 = await q2.put({
      sourceId: 'xr-01',
      via: 'http',
      reason: new PgError('IMAGE_EMPTY'),
      items: [{ path: join(dataDir, 'gone.jpg'), originalName: 'gone.jpg' }],
    });
    expect(r2).toMatchObject({ ok: false, failed: 1 });
  });
});
