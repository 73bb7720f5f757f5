/**
 * Threats: the classes the detectors learn. Each is drawn from its real anatomy (a pistol's slide,
 * frame, grip with a magazine of cartridges and a trigger guard; a knife's bevelled blade, tang and
 * rivets), with per-item variation in size, proportions and materials, so the detector learns shapes
 * and material signatures rather than one template.
 */
import { drugBrick, drugPills, drugPowder } from './drugs.js';
import { battery, ied, lighter } from './hazards.js';
import type { Built } from './parts.js';
import type { Rng } from './random.js';
import { gun, knife, scissors } from './weapons.js';

/** Class names in label index order (labels files, data.yaml, model outputs). */
export const CLASSES = [
  'gun',
  'knife',
  'scissors',
  'lighter',
  'battery',
  'ied',
  'drug-brick',
  'drug-pills',
  'drug-powder',
] as const;

export type ThreatClass = (typeof CLASSES)[number];
export type ThreatCategory = 'prohibited' | 'drug';

export const CATEGORY: Record<ThreatClass, ThreatCategory> = {
  gun: 'prohibited',
  knife: 'prohibited',
  scissors: 'prohibited',
  lighter: 'prohibited',
  battery: 'prohibited',
  ied: 'prohibited',
  'drug-brick': 'drug',
  'drug-pills': 'drug',
  'drug-powder': 'drug',
};

export const THREATS: Record<ThreatClass, (rng: Rng) => Built> = {
  gun,
  knife,
  scissors,
  lighter,
  battery,
  ied,
  'drug-brick': drugBrick,
  'drug-pills': drugPills,
  'drug-powder': drugPowder,
};
