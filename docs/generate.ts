import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import {
  ALERT_SCHEMA_ID,
  type AlertEnd,
  type AlertNew,
  type AlertUpdate,
  type DeviceEvent,
  type DeviceStatusMessage,
  ROOT,
  type SiteStatus,
  TOPICS,
} from '../adapters/mqtt/topics.js';

/**
 * Generates docs/mqtt.md and docs/schema/*.json from adapters/mqtt/topics.ts, so the published
 * contract is the code. `npm run docs` writes the files; test/docs checks they are up to date.
 */

type TopicKey = keyof typeof TOPICS;

const SITE = 'pt-sc-03';
const ALERT_ID = '01JD3M4Z8Q2W6N5T7R9Y1B3C5D';
const SCAN_ID = '01JD3M4Z7V0K2H4F6D8S0A2C4E';
const SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const alertNew: AlertNew = {
  type: 'new',
  schema: ALERT_SCHEMA_ID,
  id: ALERT_ID,
  site: SITE,
  category: 'prohibited',
  categories: ['prohibited'],
  severity: 'red',
  createdAt: '2026-11-22T10:15:03.412Z',
  source: { kind: 'xray', id: 'xr-04', name: 'Line 4 dual-view' },
  scan: {
    id: SCAN_ID,
    waybill: 'SF1234567890',
    capturedAt: '2026-11-22T10:15:02.950Z',
    views: [
      { view: 'top', width: 1180, height: 640, sha256: SHA, url: `/api/v1/scans/${SCAN_ID}/top.jpg` },
      { view: 'side', width: 1180, height: 640, sha256: SHA, url: `/api/v1/scans/${SCAN_ID}/side.jpg` },
    ],
  },
  machine: {
    decision: 'ALARM',
    models: [{ name: 'prohibited', version: '2026.11.1' }],
    items: [
      {
        label: 'knife',
        category: 'prohibited',
        score: 0.91,
        view: 'top',
        box: [412, 188, 530, 260],
        model: { name: 'prohibited', version: '2026.11.1' },
      },
    ],
  },
  operator: null,
  evidence: { annotated: `/api/v1/alerts/${ALERT_ID}/annotated.jpg`, clip: null },
};

const alertUpdate: AlertUpdate = {
  type: 'update',
  schema: ALERT_SCHEMA_ID,
  id: ALERT_ID,
  site: SITE,
  category: 'prohibited',
  at: '2026-11-22T10:15:41.007Z',
  operator: {
    decision: 'confirmed',
    by: 'screener-07',
    at: '2026-11-22T10:15:40.880Z',
    note: 'opened, kitchen knife',
  },
};

const alertEnd: AlertEnd = {
  type: 'end',
  schema: ALERT_SCHEMA_ID,
  id: ALERT_ID,
  site: SITE,
  category: 'prohibited',
  at: '2026-11-22T10:20:00.000Z',
  reason: 'handled',
};

const siteStatus: SiteStatus = { state: 'online', at: '2026-11-22T06:00:01.120Z', version: '0.1.0' };

const deviceStatus: DeviceStatusMessage = {
  id: 'xr-04',
  kind: 'xray',
  state: 'degraded',
  reason: 'no scan for 15 min while the line runs',
  since: '2026-11-22T09:58:00.000Z',
  lastSeenAt: '2026-11-22T09:43:12.501Z',
};

const CLIP_FROM = '2026-11-22T10:14:53.000Z';
const alertClips: AlertUpdate = {
  type: 'update',
  schema: ALERT_SCHEMA_ID,
  id: ALERT_ID,
  site: SITE,
  category: 'prohibited',
  at: '2026-11-22T10:15:16.204Z',
  evidence: {
    clip: `/api/v1/alerts/${ALERT_ID}/clips/cam-l4.mp4`,
    clips: [
      {
        camera: 'cam-l4',
        clip: `/api/v1/alerts/${ALERT_ID}/clips/cam-l4.mp4`,
        snapshot: `/api/v1/alerts/${ALERT_ID}/clips/cam-l4.jpg`,
        from: CLIP_FROM,
        to: '2026-11-22T10:15:13.000Z',
        reason: null,
      },
    ],
  },
};

const cameraStatus: DeviceStatusMessage = {
  id: 'cam-l4',
  kind: 'camera',
  state: 'online',
  reason: null,
  since: '2026-11-22T06:00:03.000Z',
  lastSeenAt: '2026-11-22T10:15:02.500Z',
  stream: { fps: 2, targetFps: 2, frames: 30412, dropped: 3, reconnects: 1 },
  tamper: [],
};

const tamperEvent: DeviceEvent = {
  type: 'tamper',
  id: '01JD3N0A1B2C3D4E5F6G7H8J9K',
  site: SITE,
  device: 'cam-dock',
  condition: 'covered',
  state: 'start',
  at: '2026-11-22T10:31:07.000Z',
  details: { mean: 41.2, stddev: 2.1 },
};

/** Examples per topic, each with a title; all are validated against the topic's schema. */
export const EXAMPLES: Record<TopicKey, Array<{ title: string; topic: string; payload: unknown }>> = {
  status: [{ title: 'online', topic: `${ROOT}/${SITE}/status`, payload: siteStatus }],
  deviceStatus: [
    {
      title: 'an X-ray machine degraded',
      topic: `${ROOT}/${SITE}/devices/xr-04/status`,
      payload: deviceStatus,
    },
    { title: 'a camera', topic: `${ROOT}/${SITE}/devices/cam-l4/status`, payload: cameraStatus },
  ],
  alert: [
    { title: '`new`', topic: `${ROOT}/${SITE}/alerts/prohibited`, payload: alertNew },
    {
      title: '`update` (screener decision)',
      topic: `${ROOT}/${SITE}/alerts/prohibited`,
      payload: alertUpdate,
    },
    {
      title: '`update` (evidence clips from linked cameras)',
      topic: `${ROOT}/${SITE}/alerts/prohibited`,
      payload: alertClips,
    },
    { title: '`end`', topic: `${ROOT}/${SITE}/alerts/prohibited`, payload: alertEnd },
  ],
  deviceEvent: [
    { title: 'a camera covered', topic: `${ROOT}/${SITE}/devices/cam-dock/events`, payload: tamperEvent },
  ],
  tipSet: [
    {
      title: 'threat-image projection on',
      topic: `${ROOT}/${SITE}/devices/xr-05-display/tip/set`,
      payload: { active: true, by: 'xr-05 controller' },
    },
  ],
};

/** A pipe inside a table cell would end the cell. */
const cell = (s: string) => s.replaceAll('|', '\\|');

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function schemaFileName(key: TopicKey): string {
  return `${kebab(key)}.json`;
}

/** JSON Schema for one topic. `io: 'input'` leaves objects open, so adding a field in v1 breaks no consumer. */
export function topicJsonSchema(key: TopicKey): Record<string, unknown> {
  const spec = TOPICS[key];
  const generated = z.toJSONSchema(spec.schema, { io: 'input' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return { $schema, title: `${spec.pattern}`, description: spec.describe, ...rest };
}

function renderMarkdown(): string {
  const keys = Object.keys(TOPICS) as TopicKey[];
  const lines: string[] = [
    '<!-- Generated by docs/generate.ts from adapters/mqtt/topics.ts (`npm run docs`). Do not edit by hand. -->',
    '',
    '# MQTT contract',
    '',
    `Every topic lives under \`${ROOT}/{site}/…\`, where \`{site}\` is the gateway's \`site.id\`. Payloads are`,
    'UTF-8 JSON. The JSON Schemas in [`schema/`](schema/) are generated from the same zod types the gateway',
    'validates with, so this page cannot drift from what is published.',
    '',
    '- **Session**: client id `parcelguard-{site}` unless `mqtt.clientId` is set (two gateways must not share',
    '  one), clean session, MQTT 3.1.1, TLS and username/password supported.',
    `- **Liveness**: \`${TOPICS.status.pattern}\` is retained; the gateway publishes \`online\` on every`,
    '  (re)connect, `offline` on a clean shutdown, and registers `offline` as its last will, so the broker',
    "  publishes it when the gateway vanishes. The will's `at` is the time of the connection attempt.",
    "- **Alerts**: QoS 1, never retained, at least once. An alert is written to the gateway's outbox in the",
    '  same transaction as its record and published in order; after a broker outage or a gateway crash the',
    '  outbox resends from the first unacknowledged message, so a consumer may see a message twice and',
    '  **must deduplicate by `id` and `type`** (and treat `update`s as idempotent).',
    '- **Versioning**: the topic root carries the major version (`v1`); alert payloads carry',
    `  \`"schema": "${ALERT_SCHEMA_ID}"\`. Fields may be added within a version (the schemas allow unknown`,
    '  properties); removing or changing one needs a new version.',
    '',
    '## Topics',
    '',
    '| topic | direction | QoS | retained | schema | description |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const key of keys) {
    const t = TOPICS[key];
    const dir = t.direction === 'out' ? 'gateway → broker' : 'broker → gateway';
    lines.push(
      `| [\`${t.pattern}\`](#${key.toLowerCase()}) | ${dir} | ${t.qos} | ${t.retain ? 'yes' : 'no'} | [${schemaFileName(key)}](schema/${schemaFileName(key)}) | ${cell(t.describe)} |`,
    );
  }
  lines.push(
    '',
    `Subscription filters for consumers: \`${ROOT}/{site}/alerts/+\` for every alert of a site, \`${ROOT}/+/alerts/drug\` for`,
    `drug alerts of every site, \`${ROOT}/{site}/#\` for everything. \`parcelguard watch\``,
    'prints them one per line and flags any payload that does not match its schema.',
  );
  for (const key of keys) {
    const t = TOPICS[key];
    lines.push(
      '',
      `<a id="${key.toLowerCase()}"></a>`,
      '',
      `## \`${t.pattern}\``,
      '',
      `${t.describe.charAt(0).toUpperCase()}${t.describe.slice(1)}.`,
      '',
      `- direction: ${t.direction === 'out' ? 'published by the gateway' : 'subscribed by the gateway'}`,
      `- QoS: ${t.qos}`,
      `- retained: ${t.retain ? 'yes' : 'no'}`,
      `- JSON Schema: [schema/${schemaFileName(key)}](schema/${schemaFileName(key)})`,
    );
    for (const ex of EXAMPLES[key]) {
      lines.push(
        '',
        `Example, ${ex.title}, on \`${ex.topic}\`:`,
        '',
        '```json',
        JSON.stringify(ex.payload, null, 2),
        '```',
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Every generated file, by path relative to the repository root. */
export function renderDocs(): Map<string, string> {
  for (const key of Object.keys(EXAMPLES) as TopicKey[]) {
    for (const ex of EXAMPLES[key]) TOPICS[key].schema.parse(ex.payload);
  }
  const files = new Map<string, string>();
  files.set('docs/mqtt.md', renderMarkdown());
  for (const key of Object.keys(TOPICS) as TopicKey[]) {
    files.set(`docs/schema/${schemaFileName(key)}`, `${JSON.stringify(topicJsonSchema(key), null, 2)}\n`);
  }
  return files;
}

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function main(): void {
  const files = renderDocs();
  // A topic removed from the map must not leave its schema behind looking current.
  const schemaDir = join(REPO_ROOT, 'docs/schema');
  if (existsSync(schemaDir)) {
    for (const name of readdirSync(schemaDir)) {
      if (name.endsWith('.json') && !files.has(`docs/schema/${name}`)) rmSync(join(schemaDir, name));
    }
  }
  for (const [path, content] of files) {
    const abs = join(REPO_ROOT, path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, content);
    process.stdout.write(`wrote ${path}\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
