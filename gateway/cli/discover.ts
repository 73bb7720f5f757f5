import { parseArgs } from 'node:util';
import {
  type DeviceReport,
  type DiscoveredDevice,
  discoverOnvif,
  MIN_PROBE_MS,
} from '../../adapters/onvif/discovery.js';
import { describeProfile } from '../../adapters/onvif/media.js';
import { errorMessage } from '../../config/shared/errors.js';

export const DISCOVER_USAGE = `usage: parcelguard discover [--timeout 5] [--username U] [--password P] [--json]

Finds ONVIF cameras and encoders on this network (WS-Discovery, UDP multicast 239.255.255.250:3702)
and prints each one as a config entry ready to paste under \`cameras:\`. With credentials it also reads
the device's model and media profiles and picks the best H.264 profile. The password is never printed.

  --timeout SECONDS   how long to listen for answers (default 5, at least 1.6)
  --username U        camera user (media/operator rights are enough)
  --password P        its password; or set PARCELGUARD_ONVIF_PASSWORD to keep it out of the process list
  --json              one JSON array instead of YAML

exit status: 0 devices found, 1 none found or discovery failed, 2 bad arguments`;

export interface DiscoverIo {
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
  /** Replaces the WS-Discovery probe (tests where no multicast is possible). */
  probe?: (timeoutMs: number) => Promise<DiscoveredDevice[]>;
}

class UsageError extends Error {}

function seconds(v: string | undefined): number {
  if (v === undefined) return 5;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 120)
    throw new UsageError(`--timeout must be a number of seconds between 0 and 120, got ${JSON.stringify(v)}`);
  return n;
}

/** A YAML double-quoted scalar: JSON's string escapes are all valid YAML ones. */
const q = (s: string) => JSON.stringify(s);

/** A `#` comment line. Device text was cleaned on the way in; this keeps one line even if it was not. */
const comment = (s: string) => s.replace(/\p{Cc}+/gu, ' ');

function hostOf(xaddr: string): string {
  try {
    return new URL(xaddr).hostname;
  } catch {
    return 'unknown-host'; // deviceText-filtered xaddrs always parse; this only guards the type
  }
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/g, '');
}

/** Config ids (`^[a-z0-9][a-z0-9-]{0,62}$`): cam-<model>-<last address part>, unique within one listing. */
export function suggestIds(reports: readonly DeviceReport[]): string[] {
  const used = new Set<string>();
  return reports.map((r) => {
    const what = slug(r.info?.model ?? r.device.hardware ?? '') || 'onvif';
    const host = hostOf(r.device.xaddr);
    const tail = slug(host.split('.').pop() ?? host) || 'x';
    const base = `cam-${what}-${tail}`.slice(0, 60);
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
    used.add(id);
    return id;
  });
}

function suggestName(r: DeviceReport): string {
  const what =
    [r.info?.manufacturer, r.info?.model].filter((x): x is string => !!x).join(' ') ||
    r.device.name ||
    r.device.hardware ||
    'ONVIF camera';
  return `${what} (${hostOf(r.device.xaddr)})`;
}

export function formatYaml(reports: readonly DeviceReport[], username: string | undefined): string {
  const ids = suggestIds(reports);
  const lines: string[] = [`# ${reports.length} ONVIF device(s) found; paste under \`cameras:\``];
  reports.forEach((r, i) => {
    const info = r.info;
    const about = info
      ? [
          info.manufacturer,
          info.model,
          info.firmware && `firmware ${info.firmware}`,
          info.serial && `serial ${info.serial}`,
        ]
          .filter((x): x is string => !!x)
          .join(', ')
      : [
          r.device.hardware && `hardware ${r.device.hardware}`,
          r.device.location && `location ${r.device.location}`,
        ]
          .filter((x): x is string => !!x)
          .join(', ');
    lines.push('', comment(`# ${about || 'unknown model'}; ${r.device.urn}`));
    if (r.device.xaddrs.length > 1)
      lines.push(comment(`# also announced at: ${r.device.xaddrs.slice(1).join(' ')}`));
    for (const p of r.profiles)
      lines.push(
        comment(
          `# profile ${p.token} "${p.name}": ${describeProfile(p)}${p.token === r.best ? ' (chosen)' : ''}`,
        ),
      );
    if (r.error) lines.push(comment(`# could not read profiles: ${r.error.message} [${r.error.code}]`));
    lines.push(
      `- id: ${ids[i]}`,
      `  name: ${q(suggestName(r))}`,
      '  onvif:',
      `    xaddr: ${q(r.device.xaddr)}`,
    );
    lines.push(
      username
        ? `    username: ${q(username)}`
        : '    username: ""  # set when the camera requires one (most do)',
    );
    lines.push('    password: ""  # not printed: fill in');
    if (r.best) lines.push(`    profile: ${q(r.best)}`);
  });
  return `${lines.join('\n')}\n`;
}

export function formatJson(reports: readonly DeviceReport[], username: string | undefined): string {
  const ids = suggestIds(reports);
  const out = reports.map((r, i) => ({
    ...r.device,
    device: r.info,
    profiles: r.profiles,
    best: r.best,
    error: r.error,
    config: {
      id: ids[i],
      name: suggestName(r),
      onvif: { xaddr: r.device.xaddr, username: username ?? '', ...(r.best ? { profile: r.best } : {}) },
    },
  }));
  return `${JSON.stringify(out, null, 2)}\n`;
}

/** `parcelguard discover …`; returns the exit status. Results go to `io.out`, progress and errors to `io.err`. */
export async function discover(args: string[], io: DiscoverIo = {}): Promise<number> {
  const out = io.out ?? process.stdout;
  const err = io.err ?? process.stderr;
  const env = io.env ?? process.env;
  let opts: { timeoutMs: number; username: string | undefined; password: string | undefined; json: boolean };
  try {
    const { values } = parseArgs({
      args,
      options: {
        timeout: { type: 'string' },
        username: { type: 'string' },
        password: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      out.write(`${DISCOVER_USAGE}\n`);
      return 0;
    }
    const password = values.password ?? env.PARCELGUARD_ONVIF_PASSWORD;
    if (password !== undefined && !values.username) throw new UsageError('--password needs --username');
    opts = {
      timeoutMs: Math.round(seconds(values.timeout) * 1000),
      username: values.username,
      password,
      json: values.json ?? false,
    };
  } catch (e) {
    err.write(`${errorMessage(e)}\n\n${DISCOVER_USAGE}\n`);
    return 2;
  }

  err.write(
    `listening ${Math.max(MIN_PROBE_MS, opts.timeoutMs) / 1000} s for ONVIF devices (WS-Discovery)…\n`,
  );
  let reports: DeviceReport[];
  try {
    reports = await discoverOnvif(
      {
        timeoutMs: opts.timeoutMs,
        ...(opts.username !== undefined ? { username: opts.username } : {}),
        ...(opts.password !== undefined ? { password: opts.password } : {}),
      },
      io.probe,
    );
  } catch (e) {
    err.write(`discovery failed: ${errorMessage(e)}\n`);
    return 1;
  }
  if (reports.length === 0) {
    err.write(
      'no ONVIF devices answered. Discovery only reaches the local network segment: run this on the camera\n' +
        'network, allow UDP 3702 and multicast 239.255.255.250, check ONVIF/discovery is enabled on the cameras,\n' +
        'or configure a camera by its xaddr (http://HOST/onvif/device_service) directly.\n',
    );
    return 1;
  }
  out.write(opts.json ? formatJson(reports, opts.username) : formatYaml(reports, opts.username));
  const failed = reports.filter((r) => r.error).length;
  if (failed > 0)
    err.write(`${failed} device(s) found but not readable; see the comments above each entry\n`);
  return 0;
}
