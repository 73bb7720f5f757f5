/**
 * Physics to pixels: Beer–Lambert transmission for the two energy channels, the detector's line
 * artefacts, quantum noise and blur, then the palette look-up (see palette.ts).
 */
import { type ImageStyle, LUT_SIZE, lutFor } from './palette.js';
import { Rng } from './random.js';
import { type Canvas, HIGH, LOW } from './raster.js';

export { cleanStyle, type ImageStyle, randomStyle } from './palette.js';

// Standard normals for per-pixel noise, drawn once from a fixed seed and indexed by a per-scan
// xorshift stream: a Box–Muller per pixel would cost more than the rest of the render.
const GAUSS_SIZE = 1 << 16;
const GAUSS: Float32Array = (() => {
  const rng = new Rng(0x6a055);
  const t = new Float32Array(GAUSS_SIZE);
  for (let i = 0; i < GAUSS_SIZE; i++) t[i] = rng.gauss();
  return t;
})();

// exp(-a) by table (steps of 1/512, 0.2 % at most off): Math.exp twice per pixel was a third of the render.
const EXP_STEP = 512;
const EXP_MAX = 24;
const EXP_TABLE: Float32Array = (() => {
  const t = new Float32Array(EXP_MAX * EXP_STEP + 2);
  for (let i = 0; i < t.length; i++) t[i] = Math.exp(-(i + 0.5) / EXP_STEP);
  return t;
})();
const EXP_LAST = EXP_MAX * EXP_STEP;

// Noise σ by transmission bin (T up to 1.1 after gain errors).
const SIG_BINS = 1100;
const SIG_MAX = 1.1;
const SIG_SCALE = SIG_BINS / SIG_MAX;

// Transmission → LUT level (√T·255) by table: a multiply and a load instead of a square root.
const Q_BINS = 16384;
const Q_TABLE: Uint8Array = (() => {
  const t = new Uint8Array(Q_BINS + 1);
  for (let i = 0; i <= Q_BINS; i++)
    t[i] = Math.min(LUT_SIZE - 1, Math.floor(Math.sqrt(i / Q_BINS) * (LUT_SIZE - 0.5)));
  return t;
})();

/**
 * The render in one streaming pass: attenuation → transmission with gain errors and noise, blurred
 * along the row, kept in a ring of three rows; each row is then blurred across the rows, quantised and
 * looked up in the palette. No full-size intermediate buffers: the pass is bound by memory traffic.
 */
export class Renderer {
  private ring = new Float32Array(0);
  private rowG = new Float32Array(0);
  private colG = new Float32Array(0);
  private noise = 1;
  private pix = new Uint32Array(0);
  private sigL = new Float32Array(SIG_BINS + 1);
  private sigH = new Float32Array(SIG_BINS + 1);

  /** Renders the canvas' main buffers to packed RGB (HWC). */
  render(cv: Canvas, style: ImageStyle, noiseSeed: number): Buffer {
    const W = cv.width;
    const H = cv.height;
    if (this.colG.length < W) {
      this.ring = new Float32Array(W * 6);
      this.colG = new Float32Array(W);
    }
    if (this.rowG.length < H) this.rowG = new Float32Array(H);
    const rng = new Rng(noiseSeed);
    this.gains(rng, style, W, H);
    this.noise = rng.seed() | 1;
    // The low-energy detector sees fewer photons behind its filter; its image is the noisier one.
    const invL = 1 / (style.photons * 0.55);
    const invH = 1 / style.photons;
    for (let b = 0; b <= SIG_BINS; b++) {
      const t = (b + 0.5) / SIG_SCALE;
      // Electronic noise floor (4e-6 in T²) keeps dark pixels from being perfectly clean.
      this.sigL[b] = Math.sqrt(t * invL + 4e-6);
      this.sigH[b] = Math.sqrt(t * invH + 4e-6);
    }
    const lut = lutFor(style);
    const n = W * H;
    if (this.pix.length < n) this.pix = new Uint32Array(n);
    const pix = this.pix;
    const ring = this.ring;
    const wy = style.clean ? 0 : style.blurY;
    const cy = 1 - 2 * wy;
    const qs = Q_BINS;
    // Ring layout: slot r holds the low-energy row at r·2W and the high-energy row at r·2W + W.
    this.transmitRow(cv, style, 0, 0);
    if (H > 1) this.transmitRow(cv, style, 1, 1);
    for (let y = 0; y < H; y++) {
      if (y > 0 && y + 1 < H) this.transmitRow(cv, style, y + 1, (y + 1) % 3);
      const cur = (y % 3) * 2 * W;
      const up = y > 0 ? ((y - 1) % 3) * 2 * W : cur;
      const down = y + 1 < H ? ((y + 1) % 3) * 2 * W : cur;
      const off = y * W;
      for (let x = 0; x < W; x++) {
        // Blur across detector channels (optical cross-talk in the scintillator).
        const l = cy * ring[cur + x]! + wy * (ring[up + x]! + ring[down + x]!);
        const h = cy * ring[cur + W + x]! + wy * (ring[up + W + x]! + ring[down + W + x]!);
        const il = l <= 0 ? 0 : l >= 1 ? qs : (l * qs) | 0;
        const ih = h <= 0 ? 0 : h >= 1 ? qs : (h * qs) | 0;
        pix[off + x] = lut[Q_TABLE[il]! * LUT_SIZE + Q_TABLE[ih]!]!;
      }
    }
    return packRgb(pix, n);
  }

  /** Per-channel gain errors (horizontal lines) and per-line source flicker (vertical lines). */
  private gains(rng: Rng, style: ImageStyle, W: number, H: number): void {
    const rowG = this.rowG;
    const colG = this.colG;
    let drift = 0;
    for (let y = 0; y < H; y++) {
      // Detector boards of 64 channels each have their own offset; channels scatter around it.
      if (y % 64 === 0) drift = rng.gauss() * 0.5;
      rowG[y] = style.clean ? 1 : 1 + style.rowGain * (drift + rng.gauss() * 0.7);
    }
    let walk = 0;
    for (let x = 0; x < W; x++) {
      walk = 0.9 * walk + rng.gauss() * 0.45;
      colG[x] = style.clean ? 1 : 1 + style.colGain * (walk + (rng.chance(0.01) ? rng.gauss() * 2 : 0));
    }
  }

  /** One row of transmissions (both channels) into ring slot `slot`, noisy and blurred along x. */
  private transmitRow(cv: Canvas, style: ImageStyle, y: number, slot: number): void {
    const W = cv.width;
    const al = cv.main[LOW]!;
    const ah = cv.main[HIGH]!;
    const e = style.exposure * EXP_STEP;
    const { ring, colG, sigL, sigH } = this;
    const noisy = !style.clean;
    const wx = noisy ? style.blurX : 0;
    const cx = 1 - 2 * wx;
    let s = this.noise;
    const rg = this.rowG[y]!;
    const off = y * W;
    const dl = slot * 2 * W;
    const dh = dl + W;
    // Blur along the belt (scan direction) on the fly, one pixel behind: ring[x-1] is written once
    // x is known. The edge pixels reuse themselves as neighbours.
    let pl = 0;
    let ph = 0;
    let cl = 0;
    let ch = 0;
    for (let x = 0; x < W; x++) {
      const k = off + x;
      const g = rg * colG[x]!;
      let l = g;
      let h = g;
      const el = al[k]! * e;
      if (el !== 0) {
        const eh = ah[k]! * e;
        l *= EXP_TABLE[el < EXP_LAST ? el | 0 : EXP_LAST]!;
        h *= EXP_TABLE[eh < EXP_LAST ? eh | 0 : EXP_LAST]!;
        if (noisy) {
          s ^= s << 13;
          s ^= s >>> 17;
          s ^= s << 5;
          // Quantum noise: σ = √(N)/N0 in transmission units, by table of T.
          const il = l <= 0 ? 0 : l >= SIG_MAX ? SIG_BINS : (l * SIG_SCALE) | 0;
          const ih = h <= 0 ? 0 : h >= SIG_MAX ? SIG_BINS : (h * SIG_SCALE) | 0;
          l += GAUSS[s & 0xffff]! * sigL[il]!;
          h += GAUSS[(s >>> 16) & 0xffff]! * sigH[ih]!;
        }
      }
      // Air (el = 0) skips noise: machines normalise it to white, only the gain errors survive.
      if (x === 0) {
        pl = l;
        ph = h;
      } else {
        ring[dl + x - 1] = cx * cl + wx * (pl + l);
        ring[dh + x - 1] = cx * ch + wx * (ph + h);
        pl = cl;
        ph = ch;
      }
      cl = l;
      ch = h;
    }
    ring[dl + W - 1] = cx * cl + wx * (pl + cl);
    ring[dh + W - 1] = cx * ch + wx * (ph + ch);
    this.noise = s;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Packed 0x00BBGGRR pixels → RGB bytes. Four pixels make three 32-bit words: a third of the stores of
 * writing bytes one by one.
 */
function packRgb(pix: Uint32Array, n: number): Buffer {
  const bytes = n * 3;
  const ab = new ArrayBuffer((bytes + 3) & ~3);
  const out = Buffer.from(ab, 0, bytes);
  const quads = LITTLE_ENDIAN ? n >> 2 : 0;
  const words = new Uint32Array(ab);
  for (let q = 0, k = 0, w = 0; q < quads; q++, k += 4, w += 3) {
    const p0 = pix[k]!;
    const p1 = pix[k + 1]!;
    const p2 = pix[k + 2]!;
    const p3 = pix[k + 3]!;
    words[w] = p0 | (p1 << 24);
    words[w + 1] = (p1 >>> 8) | (p2 << 16);
    words[w + 2] = (p2 >>> 16) | (p3 << 8);
  }
  for (let k = quads * 4; k < n; k++) {
    const p = pix[k]!;
    out[k * 3] = p & 255;
    out[k * 3 + 1] = (p >>> 8) & 255;
    out[k * 3 + 2] = (p >>> 16) & 255;
  }
  return out;
}

/**
 * The noise-free display colour (packed 0x00BBGGRR) of a pixel with given attenuations under this
 * scan's palette and exposure: what the render would show there without noise, gain errors or blur.
 * The label boxes use it to judge what a screener can see (visibility.ts); it runs per threat pixel,
 * so the palette is looked up once here, not per call.
 */
export function displayColours(style: ImageStyle): (low: number, high: number) => number {
  const lut = lutFor(style);
  const e = style.exposure;
  return (low, high) =>
    lut[
      Q_TABLE[(Math.exp(-low * e) * Q_BINS) | 0]! * LUT_SIZE + Q_TABLE[(Math.exp(-high * e) * Q_BINS) | 0]!
    ]!;
}
