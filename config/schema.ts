import { z } from 'zod';
import { cameraSchema } from './camera-schema.js';
import { id } from './ids.js';

/**
 * The configuration contract. Objects are strict so that a typo is an error, not a silently ignored
 * key. Defaults live here and nowhere else. Bump CURRENT_VERSION with a migration in migrations.ts.
 */
export const CURRENT_VERSION = 1;

// Cameras have their own file (config/camera-schema.ts); re-exported so the contract has one entry point.
export * from './camera-schema.js';

const category = z.enum(['prohibited', 'drug']);
const severity = z.enum(['red', 'yellow']);

export const labelSchema = z
  .strictObject({
    name: z.string().min(1).describe('class name as the model emits it (index = position in the list)'),
    category: category.describe('prohibited items go to screeners; drugs are also routed to the task force'),
    threshold: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe('score threshold for this label; default: model.scoreThreshold'),
    severity: severity.optional().describe('alert severity for this label; default by category: red'),
    alarm: z
      .boolean()
      .default(true)
      .describe('false: detect and record, but never raise an alert (e.g. a benign "battery" class)'),
  })
  .describe('one model class');

export const modelSchema = z
  .strictObject({
    name: id.describe('model name used by sources and in alerts'),
    version: z.string().min(1).describe('version reported in every alert (model card version)'),
    path: z.string().min(1).describe('path to the .onnx file, relative to the config file'),
    input: z.strictObject({
      width: z.number().int().min(32).max(4096),
      height: z.number().int().min(32).max(4096),
      layout: z.enum(['nchw', 'nhwc']).default('nchw'),
      dtype: z.enum(['float32', 'uint8']).default('float32'),
      scale: z
        .number()
        .positive()
        .default(1 / 255)
        .describe('float32 only: pixel * scale before the model'),
      pad: z.number().int().min(0).max(255).default(114).describe('letterbox padding grey level'),
    }),
    output: z
      .enum(['yolov5', 'yolov8', 'e2e'])
      .describe('yolov5 [1,N,5+C] | yolov8/11 [1,4+C,N] | e2e [1,K,6] (NMS in graph)'),
    labels: z.array(labelSchema).min(1),
    scoreThreshold: z.number().min(0).max(1).default(0.25),
    iouThreshold: z.number().min(0).max(1).default(0.45),
    maxDetections: z.number().int().min(1).max(1000).default(100),
  })
  .describe('an ONNX detector');

const completion = z.enum(['size-stable', 'done-marker']);

export const hotFolderSchema = z.strictObject({
  path: z.string().min(1).describe('directory the machine writes into (relative to the config file)'),
  completion: completion.default('size-stable').describe('how a file is known to be fully written'),
  stableMs: z
    .number()
    .int()
    .min(0)
    .default(400)
    .describe('size-stable: unchanged size and mtime for this long'),
  pollMs: z.number().int().min(20).default(200),
  pairTimeoutMs: z
    .number()
    .int()
    .min(0)
    .default(5000)
    .describe('dual view: wait this long for the second view, then screen what came'),
  viewPattern: z
    .string()
    .default('^(?<key>.+?)[_-](?<view>top|side|main)$')
    .describe('regex on the file stem; named groups `key` (same for both views) and `view`'),
  afterSuccess: z
    .enum(['move', 'delete'])
    .default('move')
    .describe('move originals to done/ or delete them once screened'),
});

export const xraySchema = z.strictObject({
  id,
  name: z.string().min(1),
  views: z
    .array(z.string().regex(/^[a-z0-9-]{1,16}$/))
    .min(1)
    .max(2)
    .default(['main']),
  models: z.array(id).min(1).describe('model names run on every scan of this machine'),
  hotFolder: hotFolderSchema.optional(),
  push: z.boolean().default(true).describe('accept scans over POST /api/v1/scans'),
});

export const tokenSchema = z.strictObject({
  name: z.string().min(1),
  role: z.enum(['screener', 'supervisor', 'taskforce', 'admin', 'device']),
  sha256: z.string().regex(/^[a-f0-9]{64}$/, 'sha256 hex of the token (`parcelguard hash-token TOKEN`)'),
  devices: z
    .array(id)
    .optional()
    .describe('device scope: X-ray machines this token may act for (device role)'),
});

export const configSchema = z
  .strictObject({
    version: z.literal(CURRENT_VERSION),
    site: z.strictObject({
      id,
      name: z.string().min(1),
      profile: z.enum(['centre', 'outlet']).default('centre'),
    }),
    dataDir: z
      .string()
      .default('./data')
      .describe('scans, evidence, quarantine and the SQLite store live here'),
    log: z
      .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
      .default({ level: 'info' }),
    http: z
      .strictObject({
        host: z.string().default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(8080),
        maxUploadMb: z.number().positive().max(1024).default(50),
        tokens: z.array(tokenSchema).default([]),
      })
      .prefault({}),
    mqtt: z
      .strictObject({
        url: z
          .string()
          .regex(/^(mqtts?|wss?|tcp|ssl):\/\//)
          .optional()
          .describe('broker URL; absent: an embedded broker on localhost'),
        username: z.string().optional(),
        password: z.string().optional(),
        clientId: z.string().optional(),
        keepaliveSec: z.number().int().min(5).default(30),
        tls: z
          .strictObject({
            ca: z.string().optional(),
            cert: z.string().optional(),
            key: z.string().optional(),
            rejectUnauthorized: z.boolean().default(true),
          })
          .optional(),
        embedded: z
          .strictObject({
            host: z.string().default('127.0.0.1'),
            port: z.number().int().min(0).max(65535).default(1883),
          })
          .prefault({}),
        inflight: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .default(32)
          .describe('outbox messages awaiting PUBACK at once'),
      })
      .prefault({}),
    inference: z
      .strictObject({
        workers: z.number().int().min(1).max(64).default(1),
        intraOpThreads: z.number().int().min(1).max(64).default(2),
        maxInFlightScans: z
          .number()
          .int()
          .min(1)
          .max(256)
          .default(4)
          .describe('scans decoded and in inference at once; the rest wait on disk'),
      })
      .prefault({}),
    limits: z
      .strictObject({
        maxImagePixels: z.number().int().min(1).default(40_000_000),
        maxImageBytes: z
          .number()
          .int()
          .min(1)
          .default(64 * 1024 * 1024),
      })
      .prefault({}),
    evidence: z
      .strictObject({
        jpegQuality: z.number().int().min(30).max(100).default(85),
        quotaMb: z
          .number()
          .int()
          .min(64)
          .default(20_000)
          .describe('disk for video evidence (ring buffers and clips); the rings shrink first'),
      })
      .prefault({}),
    retention: z
      .strictObject({
        doneDays: z
          .number()
          .int()
          .min(1)
          .default(7)
          .describe('days to keep screened originals under scans/done/ (afterSuccess: move)'),
        outboxSentDays: z
          .number()
          .int()
          .min(1)
          .default(7)
          .describe('days to keep acknowledged MQTT messages in the outbox, for diagnosis'),
        clipDays: z
          .number()
          .int()
          .min(1)
          .default(90)
          .describe("days to keep an alert's video clip after the alert is closed"),
      })
      .prefault({}),
    liveView: z
      .strictObject({
        maxCameras: z
          .number()
          .int()
          .min(0)
          .max(64)
          .default(4)
          .describe('cameras watched live at once (each costs one ffmpeg); 0 turns MJPEG live view off'),
        fps: z.number().positive().max(25).default(5),
        maxWidth: z.number().int().min(160).max(3840).default(960),
      })
      .prefault({})
      .describe('remote live view (MJPEG), started on demand and stopped when nobody watches'),
    models: z.array(modelSchema).min(1),
    xray: z.array(xraySchema).default([]),
    cameras: z.array(cameraSchema).default([]),
  })
  .superRefine((cfg, ctx) => {
    const models = new Set(cfg.models.map((m) => m.name));
    const unique = (items: { id?: string; name?: string }[], key: 'id' | 'name', path: string) => {
      const seen = new Set<string>();
      items.forEach((it, i) => {
        const v = it[key];
        if (v === undefined) return;
        if (seen.has(v))
          ctx.addIssue({ code: 'custom', path: [path, i, key], message: `duplicate ${key} "${v}"` });
        seen.add(v);
      });
    };
    unique(cfg.models, 'name', 'models');
    unique(cfg.xray, 'id', 'xray');
    unique(cfg.cameras, 'id', 'cameras');
    const xrayIds = new Set(cfg.xray.map((x) => x.id));
    cfg.xray.forEach((x, i) => {
      x.models.forEach((m, j) => {
        if (!models.has(m))
          ctx.addIssue({ code: 'custom', path: ['xray', i, 'models', j], message: `unknown model "${m}"` });
      });
      if (new Set(x.views).size !== x.views.length)
        ctx.addIssue({ code: 'custom', path: ['xray', i, 'views'], message: 'views must differ' });
    });
    // A machine without image export is screened through its display: scene cameras link to that.
    const displays = new Set(cfg.cameras.filter((c) => c.role === 'xray-display').map((c) => c.id));
    cfg.cameras.forEach((c, i) => {
      c.linkedTo.forEach((l, j) => {
        if (!xrayIds.has(l) && !displays.has(l))
          ctx.addIssue({
            code: 'custom',
            path: ['cameras', i, 'linkedTo', j],
            message: `unknown X-ray machine "${l}" (an \`xray\` id or an xray-display camera id)`,
          });
      });
      c.models.forEach((m, j) => {
        if (!models.has(m))
          ctx.addIssue({
            code: 'custom',
            path: ['cameras', i, 'models', j],
            message: `unknown model "${m}"`,
          });
      });
    });
    const paths = new Map<string, number>();
    cfg.xray.forEach((x, i) => {
      const p = x.hotFolder?.path;
      if (!p) return;
      if (paths.has(p))
        ctx.addIssue({
          code: 'custom',
          path: ['xray', i, 'hotFolder', 'path'],
          message: `same folder as xray[${paths.get(p)}]`,
        });
      paths.set(p, i);
    });
  });

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type ModelConfig = Config['models'][number];
export type XrayConfig = Config['xray'][number];
export type CameraConfig = Config['cameras'][number];
export type TokenConfig = Config['http']['tokens'][number];
