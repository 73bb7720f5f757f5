/**
 * The site's cameras as one lifecycle part: one CameraUnit per configured camera, their statuses
 * reported everywhere they are watched (retained MQTT, /metrics, the API), tamper conditions sent as
 * device events through the durable outbox, and threat-image projection (TIP) commands taken from
 * MQTT and HTTP. A camera that fails never stops another, nor the gateway.
 */
import { ulid } from 'ulid';
import {
  type DeviceEvent,
  type DeviceStatusMessage,
  deviceEventSchema,
  tipCommandSchema,
  topics,
} from '../../adapters/mqtt/topics.js';
import type { CameraConfig } from '../../config/schema.js';
import { PgError } from '../../config/shared/errors.js';
import { type Component, sleep } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/store.js';
import { reportDevice } from '../xray-sources.js';
import { type CameraParts, CameraUnit } from './camera-unit.js';
import type { TamperCondition } from './tamper.js';

export interface TamperEventInput {
  condition: TamperCondition;
  state: 'start' | 'end';
  at: number;
  details: Record<string, number>;
}

export interface CamerasDeps {
  site: string;
  cameras: readonly CameraConfig[];
  /** Builds the parts of one camera; `events` is where its tamper detector reports. */
  parts: (camera: CameraConfig, events: (e: TamperEventInput) => void) => CameraParts;
  link: {
    publishDeviceStatus(s: DeviceStatusMessage): Promise<boolean>;
    subscribe(filter: string, handler: (topic: string, payload: Buffer) => void): void;
  };
  store: Store;
  metrics: Metrics;
  log: Logger;
  /** Wakes the outbox publisher after a device event is queued. */
  onQueued: () => void;
  ffmpegPath?: string;
  /** Delay between two cameras' first connections at start; default 150 ms. */
  startStaggerMs?: number;
}

export class Cameras implements Component {
  readonly name = 'cameras';
  private readonly units = new Map<string, CameraUnit>();
  private readonly started: CameraUnit[] = [];
  private readonly abort = new AbortController();
  private starting: Promise<void> = Promise.resolve();

  constructor(private readonly d: CamerasDeps) {
    for (const camera of d.cameras) {
      const log = d.log.child({ camera: camera.id });
      const unit = new CameraUnit({
        camera,
        parts: d.parts(camera, (e) => this.tamperEvent(camera.id, e)),
        log,
        onStatus: (s) => this.report(s),
        ffmpegPath: d.ffmpegPath,
      });
      this.units.set(camera.id, unit);
    }
    d.metrics.read.cameras = () =>
      [...this.units.values()].flatMap((u) => {
        const s = u.streamStatus();
        return s
          ? [{ id: u.id, fps: s.fps, frames: s.frames, dropped: s.dropped, reconnects: s.reconnects }]
          : [];
      });
    if (d.cameras.some((c) => c.role === 'xray-display')) {
      d.link.subscribe(topics.allTipSet(d.site), (topic, payload) => this.tipFromMqtt(topic, payload));
    }
  }

  /**
   * Returns at once; the cameras connect one after another, `startStaggerMs` apart. Thirty-odd ffmpegs
   * connecting and probing at the same instant on a 2-core box starve each other past their startup
   * deadline (measured in the video bench: 32 at once, half missed it and went into backoff).
   */
  async start(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => this.abort.abort(), { once: true });
    const stagger = this.d.startStaggerMs ?? 150;
    this.starting = (async () => {
      let first = true;
      for (const unit of this.units.values()) {
        if (!first) await sleep(stagger, this.abort.signal);
        first = false;
        if (this.abort.signal.aborted) return;
        try {
          await unit.start(this.abort.signal);
          this.started.push(unit);
        } catch (err) {
          // A camera that cannot even start (ffmpeg missing, a bad option) is reported, not fatal.
          this.d.log.error({ camera: unit.id, err }, 'camera failed to start');
          this.report({ ...unit.status(), state: 'offline', reason: `failed to start: ${String(err)}` });
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.starting;
    for (const unit of this.started.splice(0).reverse()) await unit.stop();
  }

  list(): CameraUnit[] {
    return [...this.units.values()];
  }

  get(id: string): CameraUnit {
    const unit = this.units.get(id);
    if (!unit) throw new PgError('CAMERA_UNKNOWN', id);
    return unit;
  }

  /** TIP on or off for an xray-display camera (HTTP and MQTT both land here). */
  setTip(id: string, active: boolean, by?: string): void {
    const unit = this.units.get(id);
    if (unit?.config.role !== 'xray-display') throw new PgError('TIP_UNKNOWN_DEVICE', id);
    unit.setTip(active, by);
  }

  private tipFromMqtt(topic: string, payload: Buffer): void {
    const device = topic.split('/').at(-3) ?? '';
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch {
      this.d.log.warn({ command: { topic, bytes: payload.length } }, 'TIP command is not JSON; ignored');
      return;
    }
    const cmd = tipCommandSchema.safeParse(body);
    if (!cmd.success) {
      this.d.log.warn({ command: { topic, issues: cmd.error.issues } }, 'TIP command invalid; ignored');
      return;
    }
    try {
      this.setTip(device, cmd.data.active, cmd.data.by ?? 'mqtt');
    } catch (err) {
      this.d.log.warn({ command: { topic, device }, err }, 'TIP command for an unknown device; ignored');
    }
  }

  private report(s: DeviceStatusMessage): void {
    reportDevice(this.d, s);
    if (s.state === 'online') this.d.log.info({ device: s.id }, 'camera online');
  }

  /** Device alerts go through the outbox like alerts do: a covered camera is not forgotten in an outage. */
  private tamperEvent(camera: string, e: TamperEventInput): void {
    const event: DeviceEvent = deviceEventSchema.parse({
      type: 'tamper',
      id: ulid(e.at),
      site: this.d.site,
      device: camera,
      condition: e.condition,
      state: e.state,
      at: new Date(e.at).toISOString(),
      details: e.details,
    });
    this.d.store.tx(() => {
      this.d.store.outbox.enqueue(
        {
          topic: topics.deviceEvent(this.d.site, camera),
          payload: JSON.stringify(event),
          qos: 1,
          retain: false,
          alertId: null,
        },
        e.at,
      );
    });
    if (e.state === 'start') this.d.metrics.tamperEvents.inc({ camera, condition: e.condition });
    this.d.log.warn({ camera, condition: e.condition, state: e.state, details: e.details }, 'camera tamper');
    this.d.onQueued();
    this.units.get(camera)?.publish();
  }
}
