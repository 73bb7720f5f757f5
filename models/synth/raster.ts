/**
 * Scanline rasteriser for parts. A part's footprint is filled with analytic coverage (exact along x,
 * 4 sub-rows along y), so a 2 px knife edge at any angle keeps its mass instead of flickering in and out
 * of existence. The same pass can instead sum coverage per column: that is the chord length through
 * the footprint along the belt's width, which is what the side view needs.
 */
import { MU_HIGH, MU_LOW } from './materials.js';
import { DOME, FLAT, type Part, RING, ROD, TEX_MASK, TEX_SIZE, TEXTURES } from './shapes.js';

/** x' = a·x + b·y + c, y' = d·x + e·y + f */
export interface Affine {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  f: number;
}

const SUB = 4;
const SUB_W = 1 / SUB;

/** Channels of the attenuation buffers: Σ μ·ρ·t at the low and at the high energy. */
export const LOW = 0;
export const HIGH = 1;
const CHANNELS = 2;

/**
 * Attenuation buffers for one view: per pixel, the Beer–Lambert exponent Σ μ(E)·ρ·t summed over every
 * part the ray crosses, for the low and the high energy (each material class contributes with its own
 * μ at each energy). A scratch pair takes the threats first so their boxes come from their own pixels.
 * Memory is kept and reused across scans.
 */
export class Canvas {
  width = 0;
  height = 0;
  main: Float32Array[] = [];
  scratch: Float32Array[] = [];
  /** Where the rasteriser writes: `main` or `scratch`. */
  target: Float32Array[] = [];
  /** Bounding rows/cols written to scratch since the last `takeScratch`. */
  dx0 = 0;
  dy0 = 0;
  dx1 = -1;
  dy1 = -1;

  private store: ArrayBuffer[] = [];
  private capacity = 0;
  private cov = new Float32Array(0);
  private diff = new Float32Array(0);
  private colsum = new Float64Array(0);
  private colMin = 0;
  private colMax = -1;
  private vrow = new Float32Array(0);
  private ey0 = new Float64Array(256);
  private ey1 = new Float64Array(256);
  private ex = new Float64Array(256);
  private eslope = new Float64Array(256);
  private edir = new Int8Array(256);
  private order = new Int32Array(256);
  private active = new Int32Array(256);
  private xs = new Float64Array(64);
  private ds = new Int8Array(64);

  /** Sizes the buffers for a view and zeroes them; grows the backing store only when needed. */
  reset(width: number, height: number): void {
    const n = width * height;
    if (n > this.capacity) {
      this.capacity = n;
      this.store = [];
      for (let i = 0; i < CHANNELS * 2; i++) this.store.push(new ArrayBuffer(n * 4));
    }
    this.width = width;
    this.height = height;
    this.main = [];
    this.scratch = [];
    for (let k = 0; k < CHANNELS; k++) {
      const m = new Float32Array(this.store[k]!, 0, n);
      m.fill(0);
      this.main.push(m);
      // Scratch starts zeroed (fresh ArrayBuffer) and `takeScratch` zeroes every region it was
      // written in, so it never needs a full clear.
      this.scratch.push(new Float32Array(this.store[CHANNELS + k]!, 0, n));
    }
    this.target = this.main;
    if (this.cov.length < width + 2) {
      this.cov = new Float32Array(width + 2);
      this.diff = new Float32Array(width + 2);
      this.colsum = new Float64Array(width + 2);
    }
    if (this.vrow.length < height + 1) this.vrow = new Float32Array(height + 1);
    this.dx0 = width;
    this.dy0 = height;
    this.dx1 = -1;
    this.dy1 = -1;
    this.colMin = width;
    this.colMax = -1;
  }

  private growEdges(n: number): void {
    if (n <= this.ey0.length) return;
    const cap = Math.max(n, this.ey0.length * 2);
    const grow = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.ey0 = grow(this.ey0);
    this.ey1 = grow(this.ey1);
    this.ex = grow(this.ex);
    this.eslope = grow(this.eslope);
    const d = new Int8Array(cap);
    d.set(this.edir);
    this.edir = d;
    this.order = new Int32Array(cap);
    this.active = new Int32Array(cap);
  }

  /** Loads the contours, mapped by m, as edges; returns the edge count and the y range. */
  private loadEdges(contours: readonly Float64Array[], m: Affine): [number, number, number] {
    let total = 0;
    for (const c of contours) total += c.length / 2;
    this.growEdges(total);
    let n = 0;
    let ymin = Infinity;
    let ymax = -Infinity;
    for (const c of contours) {
      const count = c.length / 2;
      if (count < 3) continue;
      let px = m.a * c[(count - 1) * 2]! + m.b * c[(count - 1) * 2 + 1]! + m.c;
      let py = m.d * c[(count - 1) * 2]! + m.e * c[(count - 1) * 2 + 1]! + m.f;
      for (let i = 0; i < count; i++) {
        const x = m.a * c[i * 2]! + m.b * c[i * 2 + 1]! + m.c;
        const y = m.d * c[i * 2]! + m.e * c[i * 2 + 1]! + m.f;
        if (y !== py) {
          const down = y > py;
          const y0 = down ? py : y;
          const y1 = down ? y : py;
          this.ey0[n] = y0;
          this.ey1[n] = y1;
          this.ex[n] = down ? px : x;
          this.eslope[n] = (x - px) / (y - py);
          this.edir[n] = down ? 1 : -1;
          n++;
          if (y0 < ymin) ymin = y0;
          if (y1 > ymax) ymax = y1;
        }
        px = x;
        py = y;
      }
    }
    // Insertion sort by top y: edge lists are short and mostly come in order along a contour.
    const order = this.order;
    const ey0 = this.ey0;
    for (let i = 0; i < n; i++) {
      let j = i;
      const yi = ey0[i]!;
      while (j > 0 && ey0[order[j - 1]!]! > yi) {
        order[j] = order[j - 1]!;
        j--;
      }
      order[j] = i;
    }
    return [n, ymin, ymax];
  }

  /**
   * Fills `contours` (object frame, mapped to pixels by `toImage`). With `columns` false it adds the
   * part's areal density to `target`; `toProfile` maps pixels to the part's profile frame (cm). With
   * `columns` true it only sums coverage per column (for `band`).
   */
  fill(p: Part, toImage: Affine, toProfile: Affine, columns: boolean): void {
    const W = this.width;
    const H = this.height;
    const [n, ymin, ymax] = this.loadEdges(p.contours, toImage);
    if (n === 0) return;
    let row0 = Math.floor(ymin);
    let row1 = Math.ceil(ymax) - 1;
    if (!columns) {
      row0 = Math.max(row0, 0);
      row1 = Math.min(row1, H - 1);
    }
    if (row1 < row0) return;
    const { cov, diff, order, active, ey0, ey1, ex, eslope, edir } = this;
    let xs = this.xs;
    let ds = this.ds;
    let nActive = 0;
    let next = 0;

    const kind = p.prof.kind;
    const pa = toProfile.a;
    const pb = toProfile.b;
    const pc = toProfile.c;
    const pd = toProfile.d;
    const pe = toProfile.e;
    const pf = toProfile.f;
    const ia2 = 1 / (p.prof.a * p.prof.a);
    const ib2 = 1 / (p.prof.b * p.prof.b);
    const ra = p.prof.a;
    const irb = 1 / p.prof.b;
    const tex = p.tex >= 0 ? TEXTURES[p.tex] : undefined;
    const tAmp = p.texAmp;
    const ts = p.texScale;
    const wl = attenuation(p, MU_LOW) * p.h;
    const wh = attenuation(p, MU_HIGH) * p.h;
    const tl = this.target[LOW]!;
    const th = this.target[HIGH]!;
    const colsum = this.colsum;

    for (let y = row0; y <= row1; y++) {
      let xLo = W;
      let xHi = -1;
      for (let s = 0; s < SUB; s++) {
        const sy = y + (s + 0.5) * SUB_W;
        while (next < n && ey0[order[next]!]! <= sy) active[nActive++] = order[next++]!;
        let nx = 0;
        for (let k = 0; k < nActive; k++) {
          const e = active[k]!;
          if (ey1[e]! <= sy) {
            active[k] = active[--nActive]!;
            k--;
            continue;
          }
          if (ey0[e]! > sy) continue;
          if (nx >= xs.length) {
            const bx = new Float64Array(xs.length * 2);
            bx.set(xs);
            const bd = new Int8Array(ds.length * 2);
            bd.set(ds);
            xs = bx;
            ds = bd;
            this.xs = xs;
            this.ds = ds;
          }
          const x = ex[e]! + (sy - ey0[e]!) * eslope[e]!;
          let j = nx++;
          while (j > 0 && xs[j - 1]! > x) {
            xs[j] = xs[j - 1]!;
            ds[j] = ds[j - 1]!;
            j--;
          }
          xs[j] = x;
          ds[j] = edir[e]!;
        }
        let wind = 0;
        let start = 0;
        for (let k = 0; k < nx; k++) {
          const was = wind;
          wind += ds[k]!;
          if (was === 0 && wind !== 0) start = xs[k]!;
          else if (was !== 0 && wind === 0) {
            let xa = start;
            let xb = xs[k]!;
            if (xb <= 0 || xa >= W || xb <= xa) continue;
            if (xa < 0) xa = 0;
            if (xb > W) xb = W;
            const ia = Math.floor(xa);
            const ib = Math.floor(xb);
            if (ia === ib) cov[ia] = cov[ia]! + (xb - xa) * SUB_W;
            else {
              cov[ia] = cov[ia]! + (ia + 1 - xa) * SUB_W;
              diff[ia + 1] = diff[ia + 1]! + SUB_W;
              diff[ib] = diff[ib]! - SUB_W;
              cov[ib] = cov[ib]! + (xb - ib) * SUB_W;
            }
            if (ia < xLo) xLo = ia;
            if (ib > xHi) xHi = ib;
          }
        }
      }
      if (xHi < 0) continue;
      const end = Math.min(xHi, W - 1);
      let run = 0;
      if (columns) {
        for (let x = xLo; x <= xHi; x++) {
          run += diff[x]!;
          const c = cov[x]! + run;
          diff[x] = 0;
          cov[x] = 0;
          if (x <= end && c > 1e-4) colsum[x] = colsum[x]! + c;
        }
        if (xLo < this.colMin) this.colMin = xLo;
        if (end > this.colMax) this.colMax = end;
        continue;
      }
      // Coverage of each pixel in the row (prefix sum of the span differences).
      for (let x = xLo; x <= xHi; x++) {
        run += diff[x]!;
        diff[x] = 0;
        cov[x] = cov[x]! + run;
      }
      if (xHi > end) cov[xHi] = 0;
      const rowOff = y * W;
      if (kind === FLAT && tex === undefined) {
        // The common case (slabs, sheets, walls, metal plates): no profile, no texture.
        for (let x = xLo; x <= end; x++) {
          const c = cov[x]!;
          cov[x] = 0;
          const i = rowOff + x;
          tl[i] = tl[i]! + wl * c;
          th[i] = th[i]! + wh * c;
        }
      } else {
        const py = y + 0.5;
        let pu = pa * (xLo + 0.5) + pb * py + pc;
        let pv = pd * (xLo + 0.5) + pe * py + pf;
        for (let x = xLo; x <= end; x++, pu += pa, pv += pd) {
          const c = cov[x]!;
          cov[x] = 0;
          if (c <= 1e-4) continue;
          let q = 1;
          if (kind === ROD) q = 1 - pv * pv * ia2;
          else if (kind === DOME) q = 1 - pu * pu * ia2 - pv * pv * ib2;
          else if (kind === RING) {
            const d = (Math.sqrt(pu * pu + pv * pv) - ra) * irb;
            q = 1 - d * d;
          }
          // A floor keeps the coverage-weighted rim of a round part from vanishing entirely.
          let t = kind === FLAT ? c : Math.sqrt(Math.max(q, 0.015)) * c;
          if (tex !== undefined)
            t *= 1 + tAmp * tex[((((pv * ts) | 0) & TEX_MASK) << 8) | (((pu * ts) | 0) & TEX_MASK)]!;
          const i = rowOff + x;
          tl[i] = tl[i]! + wl * t;
          th[i] = th[i]! + wh * t;
        }
      }
      if (this.target === this.scratch) this.mark(xLo, y, end, y);
    }
  }

  /**
   * Side view of a part: the column sums from `fill(…, true)` are chord lengths (px) along the belt's
   * width; the part occupies rows [zTop, zBottom) and, if round, its thickness falls off with height.
   */
  band(p: Part, rowCentre: number, halfRows: number, pxPerCm: number): void {
    const W = this.width;
    const H = this.height;
    const cMin = Math.max(this.colMin, 0);
    const cMax = Math.min(this.colMax, W - 1);
    this.colMin = W;
    this.colMax = -1;
    const colsum = this.colsum;
    const top = rowCentre - halfRows;
    const bottom = rowCentre + halfRows;
    const r0 = Math.max(0, Math.floor(top));
    const r1 = Math.min(H - 1, Math.ceil(bottom) - 1);
    if (cMax < cMin || r1 < r0) {
      colsum.fill(0, Math.max(cMin, 0), Math.max(cMax + 1, 0));
      return;
    }
    const vrow = this.vrow;
    const round = p.prof.kind !== FLAT;
    for (let r = r0; r <= r1; r++) {
      const cover = Math.min(r + 1, bottom) - Math.max(r, top);
      let v = Math.max(cover, 0);
      if (round && halfRows > 0) {
        const dz = (r + 0.5 - rowCentre) / halfRows;
        const q = 1 - dz * dz;
        v *= Math.sqrt(Math.max(q, 0.015));
      }
      vrow[r] = v;
    }
    const inv = 1 / pxPerCm;
    const tex = p.tex >= 0 ? TEXTURES[p.tex] : undefined;
    const tAmp = p.texAmp;
    const ts = p.texScale * inv;
    const wl = attenuation(p, MU_LOW);
    const wh = attenuation(p, MU_HIGH);
    const tl = this.target[LOW]!;
    const th = this.target[HIGH]!;
    for (let r = r0; r <= r1; r++) {
      const v = vrow[r]! * inv;
      if (v <= 0) continue;
      const rowOff = r * W;
      const trow = ((((r * ts) | 0) & TEX_MASK) * TEX_SIZE) | 0;
      for (let x = cMin; x <= cMax; x++) {
        const chord = colsum[x]!;
        if (chord <= 0) continue;
        let t = chord * v;
        if (tex !== undefined) t *= 1 + tAmp * tex[trow | (((x * ts) | 0) & TEX_MASK)]!;
        const i = rowOff + x;
        tl[i] = tl[i]! + wl * t;
        th[i] = th[i]! + wh * t;
      }
    }
    colsum.fill(0, cMin, cMax + 1);
    if (this.target === this.scratch) this.mark(cMin, r0, cMax, r1);
  }

  private mark(x0: number, y0: number, x1: number, y1: number): void {
    if (x0 < this.dx0) this.dx0 = x0;
    if (y0 < this.dy0) this.dy0 = y0;
    if (x1 > this.dx1) this.dx1 = x1;
    if (y1 > this.dy1) this.dy1 = y1;
  }
}

/** μ·ρ of a part's material at one energy (cm⁻¹). */
function attenuation(p: Part, mu: readonly number[]): number {
  return p.mat[0] * mu[0]! + p.mat[1] * mu[1]! + p.mat[2] * mu[2]!;
}
