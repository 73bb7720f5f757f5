/**
 * Materials as dual-energy X-ray machines see them. A scanner cannot tell cotton from sugar; it sees how
 * much a pixel attenuates the low- and the high-energy part of the beam. The ratio of the two grows with
 * the effective atomic number (photoelectric absorption ~Z^4/E^3 dominates the low channel for heavy
 * elements, Compton scattering ~density dominates both for light ones). So the generator keeps three
 * material classes and accumulates areal density (g/cm², density × path length) per class.
 */

/** Material classes, the index of a class buffer. */
export const ORGANIC = 0; // Z_eff ≈ 6–8: paper, cloth, plastics, food, liquids, explosives, drugs
export const INORGANIC = 1; // Z_eff ≈ 10–17: glass, aluminium, silicon, PVC's chlorine, ceramics
export const METAL = 2; // Z_eff ≥ 26: steel, copper, brass, zinc
export const CLASS_COUNT = 3;

/**
 * Effective mass attenuation coefficients (cm²/g) for the low- and high-energy channels of a ~140 kV
 * dual-energy line scanner after beam hardening. The absolute values follow NIST XCOM for carbon/water,
 * aluminium and iron at ~50 keV and ~100 keV, compressed towards each other because the real beams are
 * broad spectra: a thick steel part stays blue instead of turning every pixel black.
 */
export const MU_LOW: readonly number[] = [0.225, 0.4, 1.15];
export const MU_HIGH: readonly number[] = [0.18, 0.205, 0.34];

/** Low/high attenuation ratio that the colour map treats as pure organic, inorganic and metal. */
export const RATIO_ORGANIC = MU_LOW[ORGANIC]! / MU_HIGH[ORGANIC]!;
export const RATIO_INORGANIC = MU_LOW[INORGANIC]! / MU_HIGH[INORGANIC]!;
export const RATIO_METAL = MU_LOW[METAL]! / MU_HIGH[METAL]!;

/**
 * A material: grams per cm³ that land in each class buffer. Compounds split their mass by what the
 * machine would see: PVC is mostly organic with chlorine that pulls it towards green; a PCB is glass
 * fibre (inorganic) in epoxy (organic) with copper (metal).
 */
export type Material = readonly [organic: number, inorganic: number, metal: number];

export const M = {
  air: [0, 0, 0],
  /** Corrugated board: liner and flutes, mostly air; effective density over its thickness. */
  cardboard: [0.16, 0.005, 0],
  board: [0.6, 0.01, 0],
  paper: [0.85, 0.03, 0],
  glossyPaper: [0.75, 0.3, 0],
  /** Folded garments: fibre plus the air between layers, as an effective density. */
  cotton: [0.24, 0, 0],
  wool: [0.16, 0, 0],
  denim: [0.32, 0.004, 0],
  synthetic: [0.2, 0.01, 0],
  foam: [0.06, 0, 0],
  plasticFilm: [0.92, 0, 0],
  polyethylene: [0.94, 0, 0],
  abs: [1.05, 0, 0],
  /** Acetal (POM, Delrin): the moulded tank of disposable lighters, denser than ABS. */
  pom: [1.41, 0, 0],
  pvc: [0.95, 0.45, 0],
  rubber: [1.1, 0.05, 0],
  leather: [0.86, 0.02, 0],
  wood: [0.65, 0, 0],
  water: [1.0, 0, 0],
  oil: [0.9, 0, 0],
  butane: [0.56, 0, 0],
  cream: [0.95, 0.08, 0],
  food: [0.8, 0.04, 0],
  explosive: [1.65, 0.02, 0],
  cocaine: [1.2, 0.02, 0],
  powderBulk: [0.75, 0.03, 0],
  tablet: [1.1, 0.45, 0.01],
  glass: [0.1, 2.4, 0],
  ceramic: [0.1, 2.2, 0.05],
  aluminium: [0, 2.7, 0],
  pcb: [0.8, 1.0, 0.12],
  silicon: [0, 2.3, 0.02],
  steel: [0, 0.05, 7.85],
  stainless: [0, 0.1, 7.9],
  copper: [0, 0, 8.9],
  brass: [0, 0.05, 8.5],
  zinc: [0, 0.1, 7.1],
  lead: [0, 0, 11.3],
  magnet: [0, 0.4, 7.0],
  /** The jelly roll of a lithium cell: electrode foils (Cu, Al), graphite and metal oxide. */
  cellCore: [0.5, 0.7, 1.9],
  /** Alkaline cell core: zinc and manganese dioxide. */
  alkalineCore: [0.2, 0.6, 2.6],
} as const satisfies Record<string, Material>;

/** A material scaled by a fill fraction (a half-empty bottle, a loosely packed powder). */
export function scaled(m: Material, f: number): Material {
  return [m[0] * f, m[1] * f, m[2] * f];
}
