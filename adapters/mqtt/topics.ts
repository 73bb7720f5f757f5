import { z } from 'zod';

/**
 * The MQTT contract with the city, in one file: every topic, its QoS/retain policy and its payload
 * schema. docs/mqtt.md and docs/schema/*.json are generated from here (`npm run docs`), so the
 * documentation cannot drift from what the gateway publishes.
 */
export const ALERT_SCHEMA_ID = 'parcelguard.alert/1';
export const ROOT = 'parcelguard/v1';

const isoTime = z.string().datetime({ offset: true }).describe('ISO 8601 time');
const category = z.enum(['prohibited', 'drug']);
const box = z
  .tuple([z.number(), z.number(), z.number(), z.number()])
  .describe('[x1, y1, x2, y2] in source-image pixels');
const modelRef = z.object({ name: z.string(), version: z.string() });

export const alertItemSchema = z.object({
  label: z.string(),
  category,
  score: z.number().min(0).max(1),
  view: z.string(),
  box,
  model: modelRef,
});

export const scanViewSchema = z.object({
  view: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  sha256: z.string().regex(/^[a-f0-9]{64}$/),
  url: z.string().describe('HTTP path of the original image on the gateway'),
});

export const operatorSchema = z.object({
  decision: z.enum(['confirmed', 'cleared', 'escalated']),
  by: z.string(),
  at: isoTime,
  note: z.string().nullable(),
});

const alertBase = {
  schema: z.literal(ALERT_SCHEMA_ID),
  id: z.string().describe('stable alert id (ULID); the same across new/update/end and redeliveries'),
  site: z.string(),
  category: category.describe('topic category: prohibited when any prohibited item is present, else drug'),
};

export const clipRefSchema = z.object({
  camera: z.string().describe('camera id'),
  clip: z.string().nullable().describe('HTTP path of the MP4 clip, null when no video covers the time'),
  snapshot: z.string().nullable().describe('HTTP path of the JPEG snapshot at the alert time'),
  from: isoTime,
  to: isoTime,
  reason: z.string().nullable().describe('why the clip is missing, when it is'),
});

export const alertNewSchema = z.object({
  type: z.literal('new'),
  ...alertBase,
  categories: z.array(category).min(1).describe('every category among the items'),
  severity: z.enum(['red', 'yellow']),
  createdAt: isoTime,
  source: z.object({ kind: z.enum(['xray', 'camera']), id: z.string(), name: z.string() }),
  scan: z.object({
    id: z.string(),
    waybill: z.string().nullable(),
    capturedAt: isoTime.nullable(),
    views: z.array(scanViewSchema).min(1),
  }),
  machine: z.object({
    decision: z.literal('ALARM'),
    models: z.array(modelRef).min(1),
    items: z.array(alertItemSchema).min(1),
  }),
  operator: operatorSchema.nullable(),
  evidence: z.object({
    annotated: z.string().nullable(),
    clip: z.string().nullable(),
    crop: z.string().nullable().optional().describe('display capture: the annotated crop around the threat'),
    clips: z.array(clipRefSchema).optional().describe('video clips of linked cameras, once cut'),
  }),
});

export const alertUpdateSchema = z.object({
  type: z.literal('update'),
  ...alertBase,
  at: isoTime,
  operator: operatorSchema.optional(),
  evidence: z
    .object({
      annotated: z.string().nullable().optional(),
      clip: z.string().nullable().optional().describe("the first linked camera's clip"),
      clips: z.array(clipRefSchema).optional().describe('one entry per camera linked to the source'),
    })
    .optional(),
  items: z
    .array(alertItemSchema)
    .optional()
    .describe('display capture: the items as seen in the best frame so far'),
});

export const alertEndSchema = z.object({
  type: z.literal('end'),
  ...alertBase,
  at: isoTime,
  reason: z.string(),
});

export const alertMessageSchema = z.discriminatedUnion('type', [
  alertNewSchema,
  alertUpdateSchema,
  alertEndSchema,
]);

export const siteStatusSchema = z.object({
  state: z.enum(['online', 'offline']),
  at: isoTime,
  version: z.string().describe('gateway software version'),
});

const tamperCondition = z.enum(['black', 'frozen', 'covered']);

export const deviceStatusSchema = z.object({
  id: z.string(),
  kind: z.enum(['xray', 'camera', 'broker', 'model']),
  state: z.enum(['online', 'degraded', 'offline']),
  reason: z.string().nullable(),
  since: isoTime,
  lastSeenAt: isoTime.nullable(),
  stream: z
    .object({
      fps: z.number().describe('frames per second measured over the last window'),
      targetFps: z.number(),
      frames: z.number().int(),
      dropped: z.number().int().describe('frames dropped because analysis was busy'),
      reconnects: z.number().int(),
    })
    .optional()
    .describe('cameras only'),
  tamper: z.array(tamperCondition).optional().describe('scene cameras: tamper conditions now present'),
  tip: z.boolean().optional().describe('xray-display cameras: alerts muted for threat-image projection'),
});

export const deviceEventSchema = z.object({
  type: z.literal('tamper'),
  id: z.string().describe('event id (ULID)'),
  site: z.string(),
  device: z.string(),
  condition: tamperCondition,
  state: z.enum(['start', 'end']),
  at: isoTime,
  details: z.record(z.string(), z.number()).describe('the measurements behind the verdict'),
});

export const tipCommandSchema = z.object({
  active: z.boolean().describe('true while the machine runs threat-image projection'),
  by: z.string().max(100).optional().describe('who or what set it (operator, machine integration)'),
});

export type AlertItem = z.infer<typeof alertItemSchema>;
export type AlertNew = z.infer<typeof alertNewSchema>;
export type AlertUpdate = z.infer<typeof alertUpdateSchema>;
export type AlertEnd = z.infer<typeof alertEndSchema>;
export type AlertMessage = z.infer<typeof alertMessageSchema>;
export type SiteStatus = z.infer<typeof siteStatusSchema>;
export type DeviceStatusMessage = z.infer<typeof deviceStatusSchema>;
export type DeviceEvent = z.infer<typeof deviceEventSchema>;
export type TipCommand = z.infer<typeof tipCommandSchema>;
export type ClipRef = z.infer<typeof clipRefSchema>;

export interface TopicSpec<S extends z.ZodType> {
  /** Pattern with {placeholders}, for the documentation. */
  pattern: string;
  qos: 0 | 1;
  retain: boolean;
  direction: 'out' | 'in';
  schema: S;
  describe: string;
}

export const TOPICS = {
  status: {
    pattern: `${ROOT}/{site}/status`,
    qos: 1,
    retain: true,
    direction: 'out',
    schema: siteStatusSchema,
    describe: 'gateway liveness; `online` on connect, `offline` as the MQTT last will and on clean shutdown',
  },
  deviceStatus: {
    pattern: `${ROOT}/{site}/devices/{device}/status`,
    qos: 1,
    retain: true,
    direction: 'out',
    schema: deviceStatusSchema,
    describe: 'state of one X-ray machine, camera or model: online | degraded | offline, with the reason',
  },
  alert: {
    pattern: `${ROOT}/{site}/alerts/{category}`,
    qos: 1,
    retain: false,
    direction: 'out',
    schema: alertMessageSchema,
    describe:
      'alert lifecycle (new → update → end), at least once, idempotent by `id`, never retained; an alert with items of both categories is published on both topics',
  },
  deviceEvent: {
    pattern: `${ROOT}/{site}/devices/{device}/events`,
    qos: 1,
    retain: false,
    direction: 'out',
    schema: deviceEventSchema,
    describe:
      'device alerts (camera tamper: black, frozen, covered), start and end, at least once via the outbox',
  },
  tipSet: {
    pattern: `${ROOT}/{site}/devices/{device}/tip/set`,
    qos: 1,
    retain: false,
    direction: 'in',
    schema: tipCommandSchema,
    describe:
      'to the gateway: mute (`active: true`) or unmute display-capture alerts of an xray-display camera while its machine runs threat-image projection; the state shows in the device status',
  },
} as const satisfies Record<string, TopicSpec<z.ZodType>>;

export const topics = {
  status: (site: string) => `${ROOT}/${site}/status`,
  deviceStatus: (site: string, device: string) => `${ROOT}/${site}/devices/${device}/status`,
  alert: (site: string, cat: 'prohibited' | 'drug') => `${ROOT}/${site}/alerts/${cat}`,
  deviceEvent: (site: string, device: string) => `${ROOT}/${site}/devices/${device}/events`,
  tipSet: (site: string, device: string) => `${ROOT}/${site}/devices/${device}/tip/set`,
  /** What the gateway subscribes to: every device's TIP command. */
  allTipSet: (site: string) => `${ROOT}/${site}/devices/+/tip/set`,
  /** Subscription filters for consumers such as `parcelguard watch`. */
  allAlerts: (site: string) => `${ROOT}/${site}/alerts/+`,
  everything: (site: string) => `${ROOT}/${site}/#`,
} as const;

/** MQTT filter matching (`+` one level, `#` the rest), for dispatching inbound messages. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}
