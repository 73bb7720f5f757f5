/**
 * Weapons among the threat classes: pistols and revolvers, knives, scissors.
 */
import { M, type Material, scaled } from './materials.js';
import { type Built, built, cylinder, disc, shell } from './parts.js';
import type { Rng } from './random.js';
import {
  annulus,
  flat,
  type Part,
  part,
  place,
  poly,
  rect,
  rod,
  roundRect,
  stroke,
  TEX_GRAIN,
  TEX_LAYERS,
  torus,
} from './shapes.js';

/** Scales every contour, thickness and profile of a built object uniformly (size variation). */
export function scaleBuilt(b: Built, s: number): Built {
  for (const p of b.parts) {
    p.contours = p.contours.map((c) => place(c, 0, 0, 0, s, s));
    p.prof = { ...p.prof, cx: p.prof.cx * s, cy: p.prof.cy * s, a: p.prof.a * s, b: p.prof.b * s };
    p.h *= s;
    p.z *= s;
  }
  return { parts: b.parts, hx: b.hx * s, hy: b.hy * s, hz: b.hz * s };
}

function pistol(rng: Rng): Built {
  const parts: Part[] = [];
  const polymer = rng.chance(0.55);
  const frameMat: Material = polymer ? scaled(M.abs, 1.15) : rng.chance(0.5) ? M.aluminium : M.steel;
  const width = rng.range(2.2, 3.0);
  const slideLen = rng.range(16, 20) / 2;
  const slideH = rng.range(2.6, 3.3);
  // Slide with a chamfered rear and a muzzle step.
  parts.push(
    part(
      [
        poly([
          -slideLen,
          0.2,
          slideLen,
          0.2,
          slideLen,
          slideH - 0.3,
          slideLen - 0.4,
          slideH,
          -slideLen + 0.8,
          slideH,
          -slideLen,
          slideH - 0.7,
        ]),
      ],
      M.steel,
      width,
    ),
  );
  // Barrel and recoil spring under it: more steel along the bore line.
  parts.push(cylinder(1, slideH * 0.6, 0, slideLen * 1.6, 0.55, M.steel));
  parts.push(cylinder(slideLen * 0.45, -0.35, 0, slideLen * 0.9, 0.35, M.steel));
  const g = rng.range(0.28, 0.38); // grip rake
  const gripLen = rng.range(10, 12.5);
  const gf = -slideLen * 0.35; // front strap top
  const gb = -slideLen * 0.92; // back strap top
  parts.push(
    part(
      [
        poly([
          -slideLen * 0.95,
          0.3,
          slideLen * 0.62,
          0.3,
          slideLen * 0.62,
          -0.8,
          gf + 2.2,
          -1.3,
          gb + 0.3,
          -1.3,
          -slideLen * 0.95,
          -0.6,
        ]),
      ],
      frameMat,
      width * 0.9,
    ),
  );
  const grip = poly([
    gf,
    -1.0,
    gf - gripLen * g,
    -gripLen,
    gb - gripLen * g - 0.6,
    -gripLen + 0.4,
    gb - 0.4,
    -0.6,
    gb - 1.2,
    0.3,
  ]);
  parts.push(part([grip], frameMat, width * 1.05, { tex: TEX_GRAIN, texAmp: 0.08, texScale: 5 }));
  // Magazine: steel walls seen face-on, a column of cartridges lying across the grip.
  const mx = (gf + gb) / 2 - 0.2;
  const magAngle = -Math.PI / 2 - Math.atan(g);
  const magHalf = gripLen * 0.48;
  const mcx = mx + Math.cos(magAngle) * magHalf;
  const mcy = -1.2 + Math.sin(magAngle) * magHalf;
  parts.push(part([rect(mcx, mcy, magHalf, 1.25, magAngle)], M.steel, 0.22));
  const rounds = rng.int(0, 9);
  for (let i = 0; i < rounds; i++) {
    const t = 0.6 + i * 1.0;
    const cx = mx + Math.cos(magAngle) * t + (i % 2 ? 0.15 : -0.15);
    const cy = -1.2 + Math.sin(magAngle) * t;
    parts.push(cylinder(cx, cy, 0, 2.6, 0.45, M.brass));
  }
  // Trigger guard and trigger.
  const tgx = gf + 0.3;
  const guard = [
    slideLen * 0.25,
    -1.1,
    slideLen * 0.25 + 0.2,
    -2.6,
    slideLen * 0.15 - 0.4,
    -3.9,
    tgx + 1.4,
    -4.3,
    tgx - 0.2,
    -3.8,
    tgx - 0.9,
    -2.8,
  ];
  parts.push(part(stroke(guard, 0.32), frameMat, width * 0.7));
  parts.push(part(stroke([tgx + 2.3, -1.2, tgx + 2.6, -2.2, tgx + 2.0, -3.0], 0.22), M.steel, 0.8));
  // Sights and a slide stop: small steel bumps that make the outline less clean.
  parts.push(part([rect(slideLen - 1, slideH + 0.15, 0.3, 0.2)], M.steel, 0.6));
  parts.push(part([rect(-slideLen + 1.2, slideH + 0.15, 0.5, 0.2)], M.steel, 1));
  return built(parts);
}

function revolver(rng: Rng): Built {
  const parts: Part[] = [];
  const barrel = rng.range(5, 15);
  const width = rng.range(3.4, 4);
  parts.push(cylinder(barrel / 2 + 2.2, 1.6, 0, barrel, 0.75, M.steel));
  parts.push(part([rect(barrel / 2 + 2.2, 2.5, barrel / 2, 0.25)], M.steel, 0.9));
  // Cylinder: six chambers seen from the side read as flutes along the drum.
  parts.push(part([roundRect(0, 1.4, 2.1, 1.8, 0.4)], M.steel, width, { prof: rod(0, 1.4, 0, 1.85) }));
  for (const dy of [-0.9, 0.4, 1.7, 3]) parts.push(cylinder(0, dy, 0, 3.9, 0.32, M.brass));
  parts.push(part([poly([-2.6, 3, 2.6, 3, 2.6, 3.6, -2.6, 3.6])], M.steel, 1.6));
  parts.push(
    part([poly([-2.4, -0.6, 2.3, -0.6, 2.3, 0, -2.9, 0, -3.6, 2.2, -4.4, 2.9, -3.3, -0.1])], M.steel, 1.6),
  );
  const g = rng.range(0.45, 0.7);
  parts.push(
    part(
      [poly([-2.2, -0.4, -4.2 - 8 * g * 0.6, -8.5, -7.3 - 8 * g * 0.6, -8.2, -5.2, -0.4, -4.3, 0.8])],
      rng.chance(0.5) ? M.wood : M.rubber,
      width * 0.95,
      {
        tex: TEX_LAYERS,
        texAmp: 0.08,
        texScale: 3,
      },
    ),
  );
  parts.push(part([poly([-2.6, -0.5, -3.9 - 4 * g, -5.5, -4.8 - 4 * g, -5.3, -3.8, -0.4])], M.steel, 1.2));
  parts.push(part(stroke([1.6, -0.6, 1.7, -2.2, 0.6, -3.1, -1.2, -2.9, -2, -1.9], 0.3), M.steel, 1));
  parts.push(part(stroke([-0.1, -0.6, 0.1, -1.5, -0.4, -2.2], 0.2), M.steel, 0.6));
  return built(parts);
}

export function gun(rng: Rng): Built {
  return scaleBuilt(rng.chance(0.78) ? pistol(rng) : revolver(rng), rng.range(0.9, 1.1));
}

/** A tapered blade outline along +x from the guard (x=0) to the tip, width w, edge curving up to the tip. */
function bladeOutline(len: number, w: number, dagger: boolean, tipLift: number): number[] {
  const pts: number[] = [];
  const n = 14;
  for (let i = 0; i <= n; i++) {
    const t = i / n;
    const spine = dagger
      ? (w / 2) * (1 - t ** 2.2)
      : w / 2 - w * tipLift * Math.max(0, (t - 0.75) / 0.25) ** 2;
    pts.push(t * len, i === n ? (dagger ? 0 : w / 2 - w * tipLift) : spine);
  }
  for (let i = n - 1; i >= 0; i--) {
    const t = i / n;
    const edge = dagger
      ? -(w / 2) * (1 - t ** 2.2)
      : -w / 2 + w * (1 - tipLift) * Math.max(0, (t - 0.5) / 0.5) ** 2.2;
    pts.push(t * len, edge);
  }
  return pts;
}

export function knife(rng: Rng): Built {
  const kind = rng.weighted(['kitchen', 'folding', 'dagger', 'cutter'], [4, 3, 2, 2]);
  const parts: Part[] = [];
  if (kind === 'cutter') {
    // Utility knife: plastic body on a steel rail; snap-off blade sticking out.
    const len = rng.range(12, 16);
    const w = rng.range(1.6, 2.2);
    parts.push(...shell(0, 0, len / 2, w / 2, 1.4, 0.15, M.abs, 0, 0, 0.6));
    parts.push(part([rect(0, 0, len / 2 - 0.5, 0.5)], M.steel, 0.15));
    const out = rng.range(1, 4);
    parts.push(
      part(
        [poly([len / 2 - 6, -0.45, len / 2 + out, -0.45, len / 2 + out + 0.9, 0.45, len / 2 - 6, 0.45])],
        M.steel,
        0.06,
      ),
    );
    parts.push(part([rect(len / 2 - 3, 0.55, 0.5, 0.25)], M.steel, 0.8));
    return built(parts);
  }
  const bladeLen =
    kind === 'kitchen' ? rng.range(10, 24) : kind === 'dagger' ? rng.range(9, 18) : rng.range(6, 10);
  const w =
    kind === 'kitchen' ? rng.range(1.6, 4.5) : kind === 'dagger' ? rng.range(2, 3.2) : rng.range(1.5, 2.6);
  const thick = kind === 'kitchen' ? rng.range(0.12, 0.25) : rng.range(0.2, 0.35);
  const outline = bladeOutline(bladeLen, w, kind === 'dagger', rng.range(0.2, 0.45));
  // Bevel: the whole blade is thin, the spine side carries more steel.
  parts.push(part([poly(outline)], M.stainless, thick * 0.7));
  if (kind !== 'dagger')
    parts.push(part([rect(bladeLen * 0.42, w * 0.28, bladeLen * 0.42, w * 0.22)], M.stainless, thick * 0.4));
  else parts.push(part([rect(bladeLen * 0.4, 0, bladeLen * 0.4, w * 0.12)], M.stainless, thick * 0.6));
  const hl = kind === 'folding' ? rng.range(9, 12) : rng.range(9, 13);
  const hw = kind === 'kitchen' ? rng.range(1.7, 2.5) : rng.range(1.8, 2.6);
  const hh = rng.range(1.3, 2.2);
  if (kind === 'folding') {
    // Scales over steel liners, a pivot, a clip.
    parts.push(part([roundRect(-hl / 2, 0, hl / 2, hw / 2, 0.8)], M.steel, 0.3));
    parts.push(
      part([roundRect(-hl / 2, 0, hl / 2, hw / 2, 0.8)], rng.chance(0.5) ? M.aluminium : M.abs, hh * 0.6),
    );
    parts.push(disc(-0.6, 0, 0.5, hh, M.steel));
    if (rng.chance(0.6)) parts.push(part([rect(-hl * 0.6, hw * 0.3, hl * 0.35, 0.4)], M.steel, 0.25));
  } else {
    parts.push(
      part([roundRect(-hl / 2, 0, hl / 2, hw / 2, 0.7)], rng.chance(0.5) ? M.wood : M.abs, hh, {
        prof: rod(-hl / 2, 0, 0, hw / 2),
      }),
    );
    // Full tang inside the handle and the rivets through it: dense dots in a row.
    if (rng.chance(0.7)) {
      parts.push(part([rect(-hl / 2, 0, hl / 2 - 0.4, hw * 0.32)], M.steel, thick));
      const rivets = rng.int(2, 3);
      for (let i = 0; i < rivets; i++)
        parts.push(disc(-hl * (0.2 + (0.6 * i) / Math.max(1, rivets - 1)), 0, 0.28, hh, M.brass));
    }
    parts.push(
      part(
        [rect(-0.3, 0, 0.35, w / 2 + (kind === 'dagger' ? 1.2 : 0.15))],
        M.steel,
        kind === 'dagger' ? 1.2 : 0.8,
      ),
    );
  }
  return built(parts);
}

export function scissors(rng: Rng): Built {
  const parts: Part[] = [];
  const bladeLen = rng.range(6, 12);
  const open = rng.weighted([0.03, rng.range(0.1, 0.35), rng.range(0.35, 0.7)], [3, 4, 2]);
  const plastic = rng.chance(0.65);
  const handleMat = plastic ? M.abs : M.steel;
  const ringR = rng.range(1.4, 2.2);
  const ringGap = rng.range(3.2, 4.6);
  for (const s of [-1, 1]) {
    const a = (s * open) / 2;
    const bw = rng.range(0.55, 0.75);
    // Blade: wide at the pivot, tapering to a rounded or sharp point.
    const blade = poly([
      -0.6,
      -bw * 0.9,
      bladeLen * 0.6,
      -bw * 0.55,
      bladeLen,
      -0.08,
      bladeLen,
      0.08,
      bladeLen * 0.6,
      bw * 0.35,
      -0.6,
      bw * 0.6,
    ]);
    parts.push(part([place(blade, 0, 0, a, 1, s)], M.stainless, rng.range(0.18, 0.3)));
    // Shank from the pivot to the ring, steel, under the plastic handle.
    const ha = Math.PI - (s * open) / 2 + s * 0.18;
    const rx = Math.cos(ha) * ringGap;
    const ry = Math.sin(ha) * ringGap;
    parts.push(part(stroke([0, 0, rx * 0.55, ry * 0.55], 0.35), M.stainless, 0.25));
    const rb = ringR * rng.range(0.6, 0.9);
    const th = plastic ? rng.range(0.7, 1.0) : 0.3;
    parts.push(
      part(annulus(rx, ry, ringR, ringR * 0.62, rb, rb * 0.55), handleMat, th, {
        prof: plastic ? flat() : torus(rx, ry, ringR * 0.8, ringR * 0.2),
      }),
    );
    parts.push(part(stroke([rx * 0.35, ry * 0.35, rx * 0.75, ry * 0.75], 0.5), handleMat, th));
  }
  parts.push(disc(0, 0, 0.35, 0.8, M.steel));
  return built(parts);
}
