/**
 * The one place node-onvif is loaded. node-onvif 0.1.7 is CommonJS without type declarations, so it is
 * loaded through createRequire and given the minimal types below: only what this adapter uses, with
 * every device-provided value typed `unknown` because it comes straight out of xml2js (a string, or an
 * object `{_: text, $: attributes}` when the element carries attributes) and is normalised in media.ts.
 *
 * Known hazards of the library that the rest of this folder works around:
 * - init() has no overall timeout (each SOAP request has a 3 s socket timeout, and requests run one
 *   after another), and cannot be cancelled: camera.ts races it against our own timer.
 * - init() appends to the device's profile list, so a device object is never initialised twice.
 * - fetchSnapshot() goes through a process-wide singleton that keeps the last request's host and
 *   credentials for its Digest retry (two cameras fetching at once can swap hosts and credentials),
 *   has no timeout and no error listener on the retried request: snapshot.ts fetches snapshots itself.
 * - WS-Discovery sends from one socket bound to the default interface; the interface cannot be chosen.
 */
import { createRequire } from 'node:module';

export interface NodeOnvifDeviceParams {
  xaddr: string;
  user?: string;
  pass?: string;
}

/** One entry of `OnvifDevice.getProfileList()`, as node-onvif builds it from GetProfiles/GetStreamUri. */
export interface NodeOnvifProfile {
  token: unknown;
  name: unknown;
  snapshot: unknown;
  stream: { udp: unknown; http: unknown; rtsp: unknown };
  video: {
    encoder: {
      resolution?: { width?: unknown; height?: unknown };
      framerate?: unknown;
      encoding?: unknown;
    } | null;
  };
}

export interface NodeOnvifDevice {
  /** GetSystemDateAndTime, GetCapabilities, GetDeviceInformation, GetProfiles, GetStreamUri, GetSnapshotUri. */
  init(): Promise<unknown>;
  /** The GetDeviceInformationResponse element (Manufacturer, Model, FirmwareVersion, SerialNumber…). */
  getInformation(): Record<string, unknown> | null;
  getProfileList(): NodeOnvifProfile[];
}

/** One answer to a WS-Discovery Probe, as node-onvif's startProbe() reports it. */
export interface NodeOnvifProbeMatch {
  urn: unknown;
  name: unknown;
  hardware: unknown;
  location: unknown;
  xaddrs: unknown;
  scopes: unknown;
}

export interface NodeOnvifModule {
  OnvifDevice: new (params: NodeOnvifDeviceParams) => NodeOnvifDevice;
  startProbe(): Promise<NodeOnvifProbeMatch[]>;
  stopProbe(): Promise<void>;
  /**
   * Private field: how long startProbe() listens for answers (ms, default 3000). There is no public
   * setting, and `discover --timeout` needs one; the module is a singleton, so discovery.ts serialises
   * probes and restores nothing (every probe sets it first).
   */
  _DISCOVERY_WAIT: number;
}

const require = createRequire(import.meta.url);

// The cast is the typed boundary: the shape above was checked against node-onvif 0.1.7's source.
export const nodeOnvif = require('node-onvif') as NodeOnvifModule;
