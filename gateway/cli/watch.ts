import { randomBytes } from 'node:crypto';
import { connect, type IClientOptions } from 'mqtt';
import {
  alertMessageSchema,
  deviceStatusSchema,
  ROOT,
  siteStatusSchema,
  topics,
} from '../../adapters/mqtt/topics.js';
import { errorMessage } from '../../config/shared/errors.js';
import { redactUrl } from '../../config/shared/log.js';

export interface WatchOptions {
  url: string;
  username?: string;
  password?: string;
  /** Site id to watch; `+` (default) watches every site on the broker. */
  site?: string;
  /** One JSON object per line, `{"topic":…,"payload":…}`, instead of readable lines. */
  json?: boolean;
  signal: AbortSignal;
  /** Where messages go (stdout by default); connection notices go to `err` (stderr). */
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
}

/**
 * `parcelguard watch`: subscribes to a site's alerts, site status and device status and prints one
 * line per message until the signal aborts. It is a consumer like the city's systems, so it checks
 * every payload against the published contract and says so when one does not match.
 */
export async function watch(opts: WatchOptions): Promise<void> {
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  const site = opts.site ?? '+';
  const filters = [topics.allAlerts(site), topics.status(site), topics.deviceStatus(site, '+')];
  const options: IClientOptions = {
    clientId: `parcelguard-watch-${randomBytes(4).toString('hex')}`,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
  };
  if (opts.username !== undefined) options.username = opts.username;
  if (opts.password !== undefined) options.password = opts.password;
  if (opts.signal.aborted) return;

  const client = connect(opts.url, options);
  const where = redactUrl(opts.url);
  let lastError = '';
  client.on('connect', () => {
    lastError = '';
    client.subscribe(filters, { qos: 1 }, (subErr) => {
      if (subErr) err.write(`subscribe failed on ${where}: ${subErr.message}\n`);
      else err.write(`watching ${filters.join(', ')} on ${where}\n`);
    });
  });
  client.on('error', (e) => {
    const msg = errorMessage(e);
    // The client retries every second; one line per distinct problem, not one per attempt.
    if (msg !== lastError) err.write(`broker ${where}: ${msg} (retrying)\n`);
    lastError = msg;
  });
  client.on('message', (topic, payload) => {
    out.write(`${formatMessage(topic, payload, opts.json ?? false)}\n`);
  });

  await new Promise<void>((resolve) =>
    opts.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  await new Promise<void>((resolve) => client.end(!client.connected, {}, () => resolve()));
}

/** One line for one message: readable, or `{"topic","payload"}` JSON. Never throws. */
export function formatMessage(topic: string, payload: Buffer, json: boolean): string {
  const text = payload.toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (json) return JSON.stringify({ topic, payload: body === undefined ? text : body });
  if (body === undefined) return `${new Date().toISOString()}  ${topic}  NOT JSON  ${oneLine(text, 120)}`;
  // Validated payloads can still carry control characters in free-text fields (waybill, note).
  return oneLine(readable(topic, body), 4000);
}

function readable(topic: string, body: unknown): string {
  const parts = topic.split('/');
  const site = parts[2] ?? '?';
  const kind = parts.slice(3).join('/');
  if (kind.startsWith('alerts/')) {
    const parsed = alertMessageSchema.safeParse(body);
    if (!parsed.success) return invalid(topic, parsed.error.issues);
    const m = parsed.data;
    const head = `${m.type.toUpperCase().padEnd(6)}  ${m.category.padEnd(10)}`;
    if (m.type === 'new') {
      const items = m.machine.items.map((i) => `${i.label}:${i.score.toFixed(2)}`).join(' ');
      const waybill = m.scan.waybill ?? '-';
      return `${m.createdAt}  ${site}  ${head}  ${m.severity.padEnd(6)}  ${m.id}  waybill=${waybill}  ${items}`;
    }
    if (m.type === 'update') {
      const op = m.operator ? `${m.operator.decision} by ${m.operator.by}` : '';
      const clip = m.evidence?.clip ? `clip=${m.evidence.clip}` : '';
      return `${m.at}  ${site}  ${head}  ${''.padEnd(6)}  ${m.id}  ${[op, clip].filter(Boolean).join('  ')}`.trimEnd();
    }
    return `${m.at}  ${site}  ${head}  ${''.padEnd(6)}  ${m.id}  ${oneLine(m.reason, 80)}`;
  }
  if (kind === 'status') {
    const parsed = siteStatusSchema.safeParse(body);
    if (!parsed.success) return invalid(topic, parsed.error.issues);
    return `${parsed.data.at}  ${site}  STATUS  ${parsed.data.state}  version=${parsed.data.version}`;
  }
  if (kind.startsWith('devices/')) {
    const parsed = deviceStatusSchema.safeParse(body);
    if (!parsed.success) return invalid(topic, parsed.error.issues);
    const d = parsed.data;
    const reason = d.reason ? `  ${oneLine(d.reason, 80)}` : '';
    return `${d.since}  ${site}  DEVICE  ${d.kind} ${d.id}  ${d.state}${reason}`;
  }
  return `${new Date().toISOString()}  ${topic.startsWith(ROOT) ? site : topic}  OTHER  ${oneLine(JSON.stringify(body), 120)}`;
}

function invalid(topic: string, issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  const first = issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
  return `${new Date().toISOString()}  ${topic}  INVALID (does not match the published schema)  ${first}`;
}

/** Payload text is untrusted: strip control characters so a message cannot forge extra lines. */
function oneLine(text: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
