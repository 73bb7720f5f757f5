/**
 * The dual-energy pseudo-colour that screeners know: the hue from the low/high attenuation ratio
 * (orange organic, green inorganic, blue metal), the darkness from the total attenuation, black where
 * nothing gets through; and the per-machine variation of it (tints, saturation, calibration, noise).
 */
import { RATIO_INORGANIC, RATIO_METAL, RATIO_ORGANIC } from './materials.js';
import { Rng } from './random.js';

/** How one machine (and one exposure) differs from another; drawn per scan. */
export interface ImageStyle {
  /** Which of the cached display palettes (tints, saturation, calibration) this machine uses. */
  palette: number;
  /**
   * Scales all attenuation before display. Machines differ in tube voltage, filtration and display
   * gamma; since the hue depends only on the low/high ratio, all of these act as this one factor.
   */
  exposure: number;
  /** Photons per pixel in air: lower is noisier. */
  photons: number;
  /** Blur weights of the two neighbours along x (belt motion) and y (channel cross-talk). */
  blurX: number;
  blurY: number;
  /** How much air is pushed to white (air normalisation). */
  whiteBoost: number;
  /** Relative amplitudes of the per-channel (rows) and per-line (columns) gain errors. */
  rowGain: number;
  colGain: number;
  /** Palette variation: hue shift of the organic ramp towards yellow, of metal towards violet, saturation. */
  organicShift: number;
  metalShift: number;
  saturation: number;
  /** Background colour (the "air" white) and calibration shift of the ratio thresholds. */
  white: [number, number, number];
  ratioShift: number;
  /** Turns all noise, gain errors and blur off (tests that measure geometry). */
  clean: boolean;
}

/** Number of distinct palettes; each costs a 192 KiB table, built on first use. */
export const PALETTES = 16;

/** The display parameters of palette `id`, derived from the id alone so tables can be cached. */
function paletteStyle(
  id: number,
): Pick<ImageStyle, 'whiteBoost' | 'organicShift' | 'metalShift' | 'saturation' | 'white' | 'ratioShift'> {
  const rng = new Rng(0x9a1e77e + id * 7919);
  // Air: white to light grey, sometimes a faint cool or warm cast depending on the monitor profile.
  const w = rng.range(238, 255);
  const cast = rng.range(-3, 3);
  return {
    whiteBoost: rng.range(-0.005, 0.02),
    organicShift: rng.range(-0.5, 1),
    metalShift: rng.range(-0.4, 1),
    saturation: rng.range(0.82, 1.12),
    white: [Math.min(255, w - cast), w, Math.min(255, w + cast)],
    ratioShift: rng.range(-0.06, 0.06),
  };
}

export function randomStyle(rng: Rng): ImageStyle {
  const palette = rng.int(0, PALETTES - 1);
  return {
    ...paletteStyle(palette),
    palette,
    exposure: rng.range(0.75, 1.3),
    photons: rng.range(500, 5000),
    blurX: rng.range(0.1, 0.3),
    blurY: rng.range(0.08, 0.28),
    rowGain: rng.range(0.003, 0.012),
    colGain: rng.range(0.002, 0.008),
    clean: false,
  };
}

/** A style with no noise or blur and the reference palette: geometry tests and examples. */
export function cleanStyle(): ImageStyle {
  return {
    palette: -1,
    exposure: 1,
    photons: 1e9,
    blurX: 0,
    blurY: 0,
    whiteBoost: 0,
    rowGain: 0,
    colGain: 0,
    organicShift: 0,
    metalShift: 0,
    saturation: 1,
    white: [250, 250, 248],
    ratioShift: 0,
    clean: true,
  };
}

// Colour ramps by darkness d ∈ [0, 1] (0 = air, 1 = opaque), read off published screenshots of
// Smiths/Rapiscan/Nuctech displays: pale peach → orange → brown, pale yellow-green → green → bottle
// green, sky blue → royal blue → navy. All three converge to near black, as dense objects do.
const STOPS = [0, 0.1, 0.25, 0.45, 0.65, 0.82, 1];
const ORANGE = [
  [255, 252, 245],
  [255, 228, 170],
  [250, 182, 92],
  [236, 132, 38],
  [186, 86, 18],
  [112, 48, 12],
  [28, 14, 6],
];
const YELLOWISH = [
  [255, 253, 240],
  [255, 238, 170],
  [248, 210, 100],
  [225, 170, 45],
  [170, 115, 20],
  [100, 65, 12],
  [28, 18, 6],
];
const GREEN = [
  [250, 255, 245],
  [215, 240, 180],
  [165, 215, 120],
  [100, 175, 75],
  [45, 120, 45],
  [20, 70, 28],
  [6, 22, 10],
];
const BLUE = [
  [245, 250, 255],
  [195, 220, 252],
  [130, 175, 245],
  [70, 120, 225],
  [35, 70, 175],
  [18, 35, 110],
  [4, 8, 35],
];
const VIOLET = [
  [248, 248, 255],
  [205, 210, 252],
  [150, 160, 240],
  [95, 100, 215],
  [55, 55, 165],
  [28, 25, 100],
  [6, 4, 30],
];

function rampAt(ramp: number[][], d: number, out: number[], w: number): void {
  let i = 0;
  while (i < STOPS.length - 2 && d > STOPS[i + 1]!) i++;
  const t = Math.min(1, Math.max(0, (d - STOPS[i]!) / (STOPS[i + 1]! - STOPS[i]!)));
  const a = ramp[i]!;
  const b = ramp[i + 1]!;
  for (let k = 0; k < 3; k++) out[k] = out[k]! + w * (a[k]! + (b[k]! - a[k]!) * t);
}

export const LUT_SIZE = 256;

/** 0 below lo, 1 above hi, smooth in between. */
function band(x: number, lo: number, hi: number): number {
  const t = Math.min(1, Math.max(0, (x - lo) / (hi - lo)));
  return t * t * (3 - 2 * t);
}

/**
 * The display table: RGB for every (√T_low, √T_high) pair quantised to 256 levels each. Square-root
 * steps keep resolution in the dark end where metal lives.
 */
function buildLut(style: ImageStyle): Uint32Array {
  const lut = new Uint32Array(LUT_SIZE * LUT_SIZE);
  const rO = RATIO_ORGANIC * (1 + style.ratioShift);
  const rI = RATIO_INORGANIC * (1 + style.ratioShift);
  const rM = RATIO_METAL * (1 + style.ratioShift);
  const orangeMix = Math.max(0, style.organicShift) * 0.45;
  const violetMix = Math.max(0, style.metalShift) * 0.4;
  const px = [0, 0, 0];
  const tmp = [0, 0, 0];
  const floor = 1 / (LUT_SIZE * LUT_SIZE * 4);
  for (let ql = 0; ql < LUT_SIZE; ql++) {
    const sl = (ql + 0.5) / (LUT_SIZE - 0.5);
    const tl = Math.max(Math.min(sl * sl, 1), floor);
    const al = -Math.log(tl);
    for (let qh = 0; qh < LUT_SIZE; qh++) {
      const sh = (qh + 0.5) / (LUT_SIZE - 0.5);
      const th = Math.max(Math.min(sh * sh, 1), floor);
      const ah = -Math.log(th);
      // Brightness follows mostly the high-energy image; the low channel adds organic contrast.
      let lum = Math.exp(-(0.62 * ah + 0.38 * al));
      lum = Math.min(1, lum * (1 + style.whiteBoost));
      const d = 1 - lum;
      // Hue position: 0 organic, 1 inorganic, 2 metal, from the attenuation ratio.
      let h = 0;
      if (ah > 1e-3) {
        // Each class keeps its colour over a band of ratios around its own (calibration tolerance),
        // and blends only in between: a thick book stays brown, a tin can stays between green and blue.
        const r = al / ah;
        h =
          band(r, rO + 0.3 * (rI - rO), rI - 0.15 * (rI - rO)) +
          band(r, rI + 0.2 * (rM - rI), rM - 0.25 * (rM - rI));
        // With the low channel at its floor the ratio is only a lower bound: the object is dense
        // and heavy, which machines show as dark blue/black, not as organic.
        if (ql === 0 && th < 0.35) h = Math.max(h, 1.7);
        // Below a few percent of attenuation the ratio is mostly noise; machines show such thin
        // material in the organic tint rather than flickering between colours.
        h *= band(ah, 0.02, 0.12);
      }
      px[0] = 0;
      px[1] = 0;
      px[2] = 0;
      if (h < 1) {
        tmp[0] = 0;
        tmp[1] = 0;
        tmp[2] = 0;
        rampAt(ORANGE, d, tmp, 1 - orangeMix);
        if (orangeMix > 0) rampAt(YELLOWISH, d, tmp, orangeMix);
        for (let k = 0; k < 3; k++) px[k] = px[k]! + (1 - h) * tmp[k]!;
        rampAt(GREEN, d, px, h);
      } else {
        rampAt(GREEN, d, px, 2 - h);
        tmp[0] = 0;
        tmp[1] = 0;
        tmp[2] = 0;
        rampAt(BLUE, d, tmp, 1 - violetMix);
        if (violetMix > 0) rampAt(VIOLET, d, tmp, violetMix);
        for (let k = 0; k < 3; k++) px[k] = px[k]! + (h - 1) * tmp[k]!;
      }
      // Saturation about the pixel's grey, then the machine's own white for air.
      const grey = (px[0]! + px[1]! + px[2]!) / 3;
      const airW = Math.max(0, 1 - d * 8);
      let packed = 0;
      for (let k = 0; k < 3; k++) {
        let v = grey + (px[k]! - grey) * style.saturation;
        v = v * (1 - airW) + style.white[k]! * (v / 255) * airW;
        packed |= (v < 0 ? 0 : v > 255 ? 255 : Math.round(v)) << (8 * k);
      }
      lut[ql * LUT_SIZE + qh] = packed;
    }
  }
  return lut;
}

const LUTS = new Map<number, Uint32Array>();

export function lutFor(style: ImageStyle): Uint32Array {
  let lut = LUTS.get(style.palette);
  if (!lut) {
    lut = buildLut(style);
    LUTS.set(style.palette, lut);
  }
  return lut;
}
