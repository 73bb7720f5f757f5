import { z } from 'zod';
import { id } from './ids.js';

/**
 * The camera part of the configuration contract (see config/schema.ts): where a stream comes from, how
 * it is read, and what each role does with it (tamper checks, display capture, the evidence ring).
 */

export const rtspSource = z.strictObject({
  url: z.string().regex(/^rtsps?:\/\//, 'must be an rtsp:// or rtsps:// URL'),
});
export const onvifSource = z.strictObject({
  xaddr: z.string().url(),
  username: z.string().default(''),
  password: z.string().default(''),
  profile: z.string().optional(),
});

const frac = z.number().min(0).max(1);

export const streamSettingsSchema = z
  .strictObject({
    fps: z
      .number()
      .positive()
      .max(30)
      .default(2)
      .describe('frames per second analysed (ffmpeg samples to it)'),
    width: z.number().int().min(32).max(3840).default(640).describe('analysis frame width (ffmpeg scales)'),
    height: z.number().int().min(32).max(2160).default(360).describe('analysis frame height'),
    transport: z.enum(['tcp', 'udp']).default('tcp').describe('RTSP transport; tcp survives lossy links'),
    timeoutMs: z
      .number()
      .int()
      .min(500)
      .max(60_000)
      .default(5000)
      .describe('socket timeout; a stall is declared after 0.75 of it'),
  })
  .describe('how the gateway reads the stream for analysis');

export const roiSchema = z
  .strictObject({ x: frac, y: frac, width: frac.gt(0), height: frac.gt(0) })
  .refine((r) => r.x + r.width <= 1.0001 && r.y + r.height <= 1.0001, {
    message: 'region must lie inside the picture (x + width <= 1, y + height <= 1)',
  })
  .describe('part of the picture, as fractions of its width and height');

export const displaySettingsSchema = z
  .strictObject({
    roi: roiSchema
      .optional()
      .describe("where the scan image is on the display: cuts the machine's UI overlays"),
    direction: z
      .enum(['left', 'right', 'up', 'down'])
      .default('left')
      .describe('the way the image scrolls across the display'),
    minHits: z
      .number()
      .int()
      .min(1)
      .max(30)
      .default(2)
      .describe('frames a threat must be seen in before it raises an alert'),
    maxMissed: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(4)
      .describe('frames a threat may go unseen before its track ends'),
  })
  .describe('xray-display only: screening the captured operator display');

export const tamperSettingsSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    blackLevel: z
      .number()
      .min(0)
      .max(255)
      .default(20)
      .describe('mean brightness below this is a black picture'),
    flatStddev: z
      .number()
      .min(0)
      .max(128)
      .default(6)
      .describe('brightness spread below this (and not black) is a covered or defocused lens'),
    frozenSeconds: z.number().positive().default(20).describe('an unchanged picture for this long is frozen'),
    holdSeconds: z
      .number()
      .min(0)
      .default(5)
      .describe('a condition must last this long before it is reported'),
  })
  .describe('scene cameras: black, frozen and covered pictures reported as device alerts');

export const recordSettingsSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('keep a ring buffer of the encoded stream (stream copy)'),
    ringSeconds: z
      .number()
      .int()
      .min(10)
      .max(3600)
      .default(120)
      .describe('seconds of video kept in the ring'),
    segmentSeconds: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(2)
      .describe('segment length: the precision of a clip'),
    preSeconds: z.number().min(0).max(600).default(10).describe('clip starts this long before the alert'),
    postSeconds: z.number().min(0).max(600).default(10).describe('clip ends this long after the alert'),
  })
  .refine((r) => r.preSeconds + r.segmentSeconds <= r.ringSeconds, {
    message: 'ringSeconds must cover preSeconds plus one segment',
  })
  .describe('evidence ring buffer of cameras linked to X-ray machines');

export const cameraSchema = z
  .strictObject({
    id,
    name: z.string().min(1),
    role: z.enum(['scene', 'xray-display']).default('scene'),
    rtsp: rtspSource.optional(),
    onvif: onvifSource.optional(),
    linkedTo: z
      .array(id)
      .default([])
      .describe("X-ray machines (or xray-display cameras) whose alerts get this camera's evidence clip"),
    models: z.array(id).default([]).describe('xray-display only: models to screen the captured display with'),
    stream: streamSettingsSchema.prefault({}),
    display: displaySettingsSchema.prefault({}),
    tamper: tamperSettingsSchema.prefault({}),
    record: recordSettingsSchema.prefault({}),
  })
  .refine((c) => (c.rtsp ? 1 : 0) + (c.onvif ? 1 : 0) === 1, {
    message: 'set exactly one of `rtsp` or `onvif`',
  })
  .refine((c) => c.role !== 'xray-display' || c.models.length > 0, {
    message: 'an xray-display camera needs `models` to screen with',
    path: ['models'],
  });
