/**
 * WS-Discovery of ONVIF devices, and a look inside each one found (device information and media
 * profiles) so an installer can paste it into the config. Used by `parcelguard discover`, never by the
 * running gateway: cameras are always configured by xaddr, discovery only helps find those addresses.
 */
import { OnvifCamera, withDeadline } from './camera.js';
import { isOnvifError, OnvifError } from './errors.js';
import { deviceText, type OnvifDeviceInfo, type OnvifProfile, redactUri } from './media.js';
import { nodeOnvif } from './node-onvif.js';

export interface DiscoveredDevice {
  /** Endpoint reference (urn:uuid:…), stable across reboots and address changes. */
  urn: string;
  /** The address to configure: the first http:// IPv4 XAddr the device announced, else the first. */
  xaddr: string;
  xaddrs: string[];
  /** From the device's discovery scopes (onvif://www.onvif.org/name/…, /hardware/…, /location/…). */
  name: string | null;
  hardware: string | null;
  location: string | null;
}

export interface DeviceReport {
  device: DiscoveredDevice;
  info: OnvifDeviceInfo | null;
  /** URIs redacted. Empty when the device could not be initialised (see `error`). */
  profiles: OnvifProfile[];
  /** Token of the profile the gateway would choose by default. */
  best: string | null;
  error: { code: string; message: string } | null;
}

export interface DiscoverOptions {
  timeoutMs: number;
  username?: string;
  password?: string;
  /** Per device; defaults to the discovery timeout, at least 3 s. */
  initTimeoutMs?: number;
}

// node-onvif's prober is a process-wide singleton with one socket: concurrent probes would close each
// other's socket, so they queue here.
let queue: Promise<unknown> = Promise.resolve();

function preferredXaddr(xaddrs: string[]): string | undefined {
  return xaddrs.find((x) => /^http:\/\/\d{1,3}(\.\d{1,3}){3}[:/]/i.test(x)) ?? xaddrs[0];
}

function scopeText(v: unknown): string | null {
  const s = deviceText(v);
  if (s === null) return null;
  try {
    return deviceText(decodeURIComponent(s));
  } catch {
    return s; // not percent-encoded after all: show it as sent
  }
}

/**
 * node-onvif sends its nine probes 150 ms apart and, if stopped while one is being sent, schedules the
 * next send on a closed socket and throws from a timer (uncaught). Listening at least this long lets
 * the send chain end on its own first.
 */
export const MIN_PROBE_MS = 1_600;

/** Sends WS-Discovery probes and collects the answers for `timeoutMs` (at least MIN_PROBE_MS). */
export function probeOnvif(timeoutMs: number): Promise<DiscoveredDevice[]> {
  const run = async (): Promise<DiscoveredDevice[]> => {
    nodeOnvif._DISCOVERY_WAIT = Math.max(MIN_PROBE_MS, timeoutMs);
    let matches: Awaited<ReturnType<typeof nodeOnvif.startProbe>>;
    try {
      // startProbe resolves after _DISCOVERY_WAIT; the margin only matters if its socket never binds.
      matches = await withDeadline(
        nodeOnvif.startProbe(),
        nodeOnvif._DISCOVERY_WAIT + 5_000,
        () => new OnvifError('DISCOVERY_FAILED', 'WS-Discovery did not finish (socket never bound)'),
      );
    } catch (err) {
      await nodeOnvif.stopProbe().catch((stopErr: unknown) => {
        throw new OnvifError('DISCOVERY_FAILED', 'WS-Discovery socket could not be closed', {
          cause: stopErr,
        });
      });
      if (isOnvifError(err)) throw err;
      throw new OnvifError('DISCOVERY_FAILED', 'WS-Discovery failed to open its UDP socket', { cause: err });
    }
    const out: DiscoveredDevice[] = [];
    for (const m of matches) {
      const urn = deviceText(m.urn);
      const xaddrs = (Array.isArray(m.xaddrs) ? m.xaddrs : [])
        .map((x) => deviceText(x, 500))
        .filter((x): x is string => x !== null && /^https?:\/\//i.test(x));
      const xaddr = preferredXaddr(xaddrs);
      if (!urn || !xaddr) continue; // an answer we could not use to reach the device anyway
      out.push({
        urn,
        xaddr,
        xaddrs,
        // Scope values are URI path segments (My%20Camera); node-onvif turns underscores in names into spaces.
        name: scopeText(m.name),
        hardware: scopeText(m.hardware),
        location: scopeText(m.location),
      });
    }
    return out.sort((a, b) => a.xaddr.localeCompare(b.xaddr));
  };
  const result = queue.then(run, run);
  queue = result.catch(() => 'the next probe runs regardless of this one failing');
  return result;
}

/** Initialises one discovered device (anonymously when no username is given) to read its profiles. */
export async function inspectOnvif(
  device: DiscoveredDevice,
  opts: { username?: string; password?: string; timeoutMs: number },
): Promise<DeviceReport> {
  const camera = new OnvifCamera(
    { xaddr: device.xaddr, username: opts.username ?? '', password: opts.password ?? '' },
    { timeoutMs: opts.timeoutMs },
  );
  try {
    const s = await camera.connect();
    return { device, info: s.device, profiles: s.profiles, best: s.profile, error: null };
  } catch (err) {
    const e = isOnvifError(err)
      ? err
      : new OnvifError('ONVIF_PROTOCOL', `inspection of ${redactUri(device.xaddr)} failed`, { cause: err });
    return {
      device,
      info: null,
      profiles: [],
      best: null,
      error: { code: `PG_${e.code}`, message: e.message },
    };
  }
}

/** Probes, then inspects every device found, four at a time (each inspection waits on the network). */
export async function discoverOnvif(
  opts: DiscoverOptions,
  probe: (timeoutMs: number) => Promise<DiscoveredDevice[]> = probeOnvif,
): Promise<DeviceReport[]> {
  const devices = await probe(opts.timeoutMs);
  const initTimeoutMs = opts.initTimeoutMs ?? Math.max(3_000, opts.timeoutMs);
  const reports: DeviceReport[] = new Array(devices.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < devices.length; i = next++) {
      const device = devices[i];
      if (!device) continue;
      reports[i] = await inspectOnvif(device, {
        timeoutMs: initTimeoutMs,
        ...(opts.username !== undefined ? { username: opts.username } : {}),
        ...(opts.password !== undefined ? { password: opts.password } : {}),
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, devices.length) }, worker));
  return reports;
}
