import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasTorch, runPythonCheck } from '../../support/system-python.js';

/**
 * Threat-centred crops (models/training/crops.py) and the ignore boxes they hand the heatmap loss
 * (targets.py). Needs Debian's python3-torch like the rest of the recipe; CI does not install it, so
 * there this reports itself skipped.
 */
describe.skipIf(!hasTorch)('threat-centred training crops (needs python3-torch)', () => {
  it('keeps, clips or ignores threats the window cuts, and crops the cache’s own pixels', () => {
    const found = runPythonCheck(join(import.meta.dirname, 'crops_check.py'), 60_000);
    // Window at (100, 100), 64 px: inside; 75 % inside, clipped; 35 % inside → ignored; outside → gone.
    expect(found.kept).toEqual([
      [0, 10, 10, 30, 30],
      [1, 0, 20, 30, 40],
    ]);
    expect(found.ignored).toEqual([[2, 50, 0, 64, 20]]);
    expect(found.emptyShapes).toEqual([
      [0, 5],
      [0, 5],
    ]);
    expect(found.windowsInside).toBe(true);
    // 256 px crops keep the threat's centre at least 32 px (crop/8) inside, at spread placements.
    expect(found.centreMargin).toBeGreaterThanOrEqual(32);
    expect(found.distinctCorners).toBeGreaterThan(100);
    expect(found.edgeWindow).toEqual([0, 0]);
    expect(found.farEdgeWindow).toEqual([192, 192]);
    expect(found.batchShape).toEqual([3, 3, 256, 256]);
    expect(found.pixelsMatchCache).toBe(true);
    expect(found.keptIsShifted).toBe(true);
    expect(found.emptyScanKeeps).toBe(0);
    expect(found.badCrop).toMatch(/crop 500 must be between 1 and the cached size 448/);
  });

  it('flips ignore boxes with the image and leaves their cells out of the background loss', () => {
    const found = runPythonCheck(join(import.meta.dirname, 'crops_check.py'), 60_000);
    expect(found.ignoreFlipsWithBoxes).toBe(true);
    expect(found.someFlipped).toBe(true);
    // Box x 8-20, y 0-10 at stride 4: the cells whose centres (i + 0.5) * 4 fall inside it.
    expect(found.ignoredCells).toEqual([
      [0, 2],
      [0, 3],
      [0, 4],
      [1, 2],
      [1, 3],
      [1, 4],
      [2, 2],
      [2, 3],
      [2, 4],
    ]);
    expect(found.otherClassUntouched).toBe(true);
    expect(found.noIgnoreAllOnes).toBe(true);
    // A confident output on the ignored cells: free with the ignore, costly without it.
    expect(found.lossIgnored).toBeCloseTo(found.lossQuiet as number, 3);
    expect(found.lossPlain as number).toBeGreaterThan((found.lossIgnored as number) + 10);
  });
});
