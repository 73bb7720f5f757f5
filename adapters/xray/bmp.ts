import { PgError } from '../../config/shared/errors.js';

/**
 * BMP support. sharp's bundled libvips has no BMP loader, yet many X-ray machines export BMP, so the
 * header is read here (for the cheap checks) and the pixels decoded here (for the pipeline, which hands
 * the raw result to `sharp(data, { raw })`). Uncompressed and bit-field BMPs only: RLE and embedded
 * JPEG/PNG BMPs are refused as unsupported rather than half-decoded.
 */

export interface BmpHeader {
  width: number;
  height: number;
  /** Rows stored top-down (negative height in the file). */
  topDown: boolean;
  bitsPerPixel: number;
  compression: number;
  dataOffset: number;
  headerSize: number;
  paletteSize: number;
}

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

/** Needs the first 54 bytes (or 26 for an OS/2 core header). */
export function readBmpHeader(buf: Buffer): BmpHeader {
  if (buf.length < 26 || buf[0] !== 0x42 || buf[1] !== 0x4d)
    throw new PgError('IMAGE_CORRUPT', 'BMP header is truncated');
  const dataOffset = buf.readUInt32LE(10);
  const headerSize = buf.readUInt32LE(14);
  let width: number;
  let rawHeight: number;
  let bitsPerPixel: number;
  let compression = BI_RGB;
  let paletteSize = 0;
  if (headerSize === 12) {
    width = buf.readUInt16LE(18);
    rawHeight = buf.readInt16LE(20);
    bitsPerPixel = buf.readUInt16LE(24);
  } else if (headerSize >= 40 && buf.length >= 50) {
    width = buf.readInt32LE(18);
    rawHeight = buf.readInt32LE(22);
    bitsPerPixel = buf.readUInt16LE(28);
    compression = buf.readUInt32LE(30);
    paletteSize = buf.readUInt32LE(46);
  } else {
    throw new PgError('IMAGE_CORRUPT', 'BMP header is truncated or of an unknown kind');
  }
  if (width <= 0 || rawHeight === 0 || rawHeight === -2147483648)
    throw new PgError('IMAGE_CORRUPT', 'BMP header has no valid size');
  if (![1, 4, 8, 16, 24, 32].includes(bitsPerPixel))
    throw new PgError('IMAGE_UNSUPPORTED', `BMP with ${bitsPerPixel} bits per pixel`);
  if (![BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS].includes(compression)) {
    throw new PgError(
      'IMAGE_UNSUPPORTED',
      'compressed BMP (RLE, JPEG or PNG inside); export uncompressed BMP',
    );
  }
  return {
    width,
    height: Math.abs(rawHeight),
    topDown: rawHeight < 0,
    bitsPerPixel,
    compression,
    dataOffset,
    headerSize,
    paletteSize,
  };
}

export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 3;
}

function maskShift(mask: number): { shift: number; max: number } {
  if (mask === 0) return { shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift += 1;
  return { shift, max: mask >>> shift };
}

/** Decodes a whole BMP file to packed RGB. Throws PgError (IMAGE_CORRUPT / IMAGE_UNSUPPORTED / IMAGE_TOO_LARGE). */
export function decodeBmp(file: Buffer, maxPixels: number): RawImage {
  const h = readBmpHeader(file);
  if (h.width * h.height > maxPixels) throw new PgError('IMAGE_TOO_LARGE', `${h.width}×${h.height} BMP`);
  const bpp = h.bitsPerPixel;
  const stride = Math.floor((bpp * h.width + 31) / 32) * 4;
  if (h.dataOffset + stride * h.height > file.length)
    throw new PgError('IMAGE_CORRUPT', 'BMP pixel data is truncated');

  const palette: number[] = [];
  if (bpp <= 8) {
    const entrySize = h.headerSize === 12 ? 3 : 4;
    const count = h.paletteSize || 1 << bpp;
    const start = 14 + h.headerSize;
    for (let i = 0; i < count && start + i * entrySize + 2 < file.length; i += 1) {
      const o = start + i * entrySize;
      palette.push((file[o + 2]! << 16) | (file[o + 1]! << 8) | file[o]!);
    }
  }
  // 16 and 32 bit: explicit masks after the 40-byte header, else the documented defaults (5-5-5 / 8-8-8).
  let masks = bpp === 16 ? [0x7c00, 0x03e0, 0x001f] : [0xff0000, 0x00ff00, 0x0000ff];
  if (h.compression !== BI_RGB && file.length >= 66) {
    masks = [file.readUInt32LE(54), file.readUInt32LE(58), file.readUInt32LE(62)];
  }
  const channels = masks.map(maskShift);

  const out = Buffer.alloc(h.width * h.height * 3);
  for (let y = 0; y < h.height; y += 1) {
    const row = h.dataOffset + (h.topDown ? y : h.height - 1 - y) * stride;
    let o = y * h.width * 3;
    for (let x = 0; x < h.width; x += 1, o += 3) {
      let rgb: number;
      if (bpp === 24) {
        const p = row + x * 3;
        rgb = (file[p + 2]! << 16) | (file[p + 1]! << 8) | file[p]!;
      } else if (bpp === 16 || bpp === 32) {
        const v = bpp === 16 ? file.readUInt16LE(row + x * 2) : file.readUInt32LE(row + x * 4);
        const [r, g, b] = channels.map((c) =>
          c.max === 0 ? 0 : Math.round((((v >>> c.shift) & c.max) * 255) / c.max),
        );
        rgb = (r! << 16) | (g! << 8) | b!;
      } else {
        const bit = x * bpp;
        const byte = file[row + (bit >> 3)]!;
        const idx = (byte >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        const entry = palette[idx];
        if (entry === undefined) throw new PgError('IMAGE_CORRUPT', 'BMP palette index out of range');
        rgb = entry;
      }
      out[o] = (rgb >> 16) & 0xff;
      out[o + 1] = (rgb >> 8) & 0xff;
      out[o + 2] = rgb & 0xff;
    }
  }
  return { data: out, width: h.width, height: h.height, channels: 3 };
}
