/**
 * Clutter: what parcels are full of. Each builder returns an object centred on its own origin, lying
 * as it would in a box; sizes are real-world cm with per-item variation. Nothing here is a threat class
 * (no loose cells or power banks), but several items are deliberate look-alikes (pliers, keys, umbrella
 * ribs, underwired bras, cans), because real parcels have them and a detector must learn to ignore them.
 */
import { accessories, clothes, shoes } from './clothing.js';
import { boxedProduct, cables, electronics, tools } from './devices.js';
import { books, bottle, cosmetics, filler, kitchen } from './household.js';
import type { Built } from './parts.js';
import type { Rng } from './random.js';

export type ClutterKind =
  | 'clothes'
  | 'books'
  | 'bottle'
  | 'shoes'
  | 'cables'
  | 'electronics'
  | 'tools'
  | 'cosmetics'
  | 'filler'
  | 'accessories'
  | 'kitchen'
  | 'product';

export const CLUTTER: Record<ClutterKind, (rng: Rng) => Built> = {
  clothes,
  books,
  bottle,
  shoes,
  cables,
  electronics,
  tools,
  cosmetics,
  filler,
  accessories,
  kitchen,
  product: boxedProduct,
};

/** How often each kind turns up in an express parcel. */
export const CLUTTER_WEIGHTS: Record<ClutterKind, number> = {
  clothes: 5,
  books: 2,
  bottle: 2,
  shoes: 1.5,
  cables: 2,
  electronics: 2,
  tools: 1.5,
  cosmetics: 2.5,
  filler: 3,
  accessories: 2,
  kitchen: 1.2,
  product: 2,
};
