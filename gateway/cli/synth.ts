import { parseArgs } from 'node:util';
import { errorMessage } from '../../config/shared/errors.js';
import { writeDataset } from '../../models/synth/dataset.js';
import { DEFAULT_HEIGHT } from '../../models/synth/index.js';

const USAGE = `usage: parcelguard synth --out DIR --count N --seed S [--dual-view] [--height 640] [--format jpg|png]
                        [--quality 90] [--threat-rate P,D]

Writes a synthetic X-ray dataset in YOLO format: DIR/images, DIR/labels (cls cx cy w h per line,
empty for clean parcels) and DIR/data.yaml. The same seed writes the same bytes.
  --threat-rate P,D   probability that a parcel carries a prohibited item / drugs (default 0.5,0.3)`;

export interface SynthIo {
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
}

function int(name: string, v: string | undefined, lo: number, hi: number): number {
  if (v === undefined) throw new Error(`--${name} is required`);
  if (!/^-?\d+$/.test(v.trim())) throw new Error(`--${name} must be an integer, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (n < lo || n > hi) throw new Error(`--${name} must be between ${lo} and ${hi}, got ${n}`);
  return n;
}

/** `parcelguard synth`: returns the process exit code (0 ok, 1 failed while writing, 2 bad usage). */
export async function synth(args: string[], io: SynthIo = {}): Promise<number> {
  const out = io.out ?? process.stdout;
  const err = io.err ?? process.stderr;
  let opts: Parameters<typeof writeDataset>[0];
  try {
    const { values } = parseArgs({
      args,
      options: {
        out: { type: 'string' },
        count: { type: 'string' },
        seed: { type: 'string' },
        'dual-view': { type: 'boolean', default: false },
        height: { type: 'string' },
        format: { type: 'string' },
        quality: { type: 'string' },
        'threat-rate': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
    });
    if (values.help) {
      out.write(`${USAGE}\n`);
      return 0;
    }
    if (!values.out) throw new Error('--out is required');
    const format = values.format ?? 'jpg';
    if (format !== 'jpg' && format !== 'png') throw new Error(`--format must be jpg or png, got ${format}`);
    let threatRate: { prohibited: number; drug: number } | undefined;
    if (values['threat-rate'] !== undefined) {
      const [p, d, ...rest] = values['threat-rate'].split(',').map(Number);
      if (p === undefined || d === undefined || rest.length > 0 || !(p >= 0 && p <= 1 && d >= 0 && d <= 1))
        throw new Error('--threat-rate must be two probabilities, e.g. 0.5,0.3');
      threatRate = { prohibited: p, drug: d };
    }
    opts = {
      out: values.out,
      count: int('count', values.count, 1, 10_000_000),
      // Seeds are 32-bit: negative or larger values wrap, as the PRNG would.
      seed: int('seed', values.seed, -(2 ** 53), 2 ** 53) >>> 0,
      dualView: values['dual-view'],
      height: values.height === undefined ? DEFAULT_HEIGHT : int('height', values.height, 64, 4096),
      format,
      quality: values.quality === undefined ? 90 : int('quality', values.quality, 1, 100),
      ...(threatRate ? { threatRate } : {}),
    };
  } catch (e) {
    err.write(`${errorMessage(e)}\n${USAGE}\n`);
    return 2;
  }
  try {
    const r = await writeDataset(opts);
    out.write(
      `wrote ${r.images} images (${r.scans} scans, ${r.boxes} boxes) to ${opts.out} in ${r.seconds.toFixed(2)} s: ${r.imagesPerSec.toFixed(1)} images/s\n`,
    );
    return 0;
  } catch (e) {
    err.write(`synth failed: ${errorMessage(e)}\n`);
    return 1;
  }
}
