import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * One registry per gateway instance (not prom-client's global), so tests and benchmarks can run
 * several gateways in one process without their figures mixing.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'parcelguard_' });
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  /** Read at scrape time, so gauges are never stale; the composition root points them at the real sources. */
  const read = {
    queueDepth: () => 0,
    outboxDepth: () => 0,
    cameras: (): CameraReading[] => [],
  };
  const perCamera = (key: keyof Omit<CameraReading, 'id'>) =>
    function (this: Gauge<'camera'>) {
      this.reset();
      for (const c of read.cameras()) this.set({ camera: c.id }, c[key]);
    };
  const m = {
    read,
    registry,
    scans: new Counter({
      name: 'parcelguard_scans_total',
      help: 'scans recorded, by source and decision',
      labelNames: ['source', 'decision'],
      registers: [registry],
    }),
    alerts: new Counter({
      name: 'parcelguard_alerts_total',
      help: 'alerts raised',
      labelNames: ['category', 'severity'],
      registers: [registry],
    }),
    quarantined: new Counter({
      name: 'parcelguard_quarantined_total',
      help: 'inputs refused and quarantined, by reason code',
      labelNames: ['source', 'code'],
      registers: [registry],
    }),
    inferenceMs: new Histogram({
      name: 'parcelguard_inference_ms',
      help: 'detector time per image view (letterbox, queue, every model of the source), milliseconds',
      labelNames: ['source'],
      buckets: [2, 5, 10, 20, 35, 50, 75, 100, 150, 250, 500, 1000],
      registers: [registry],
    }),
    scanMs: new Histogram({
      name: 'parcelguard_scan_ms',
      help: 'claim to committed decision, milliseconds',
      buckets: [10, 25, 50, 100, 200, 400, 800, 1600, 3200, 10_000, 60_000],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'parcelguard_scan_queue_depth',
      help: 'claimed scans waiting on disk for screening',
      registers: [registry],
    }),
    outboxDepth: new Gauge({
      name: 'parcelguard_outbox_depth',
      help: 'messages waiting for broker acknowledgement',
      registers: [registry],
    }),
    eventLoopLagP99: new Gauge({
      name: 'parcelguard_event_loop_lag_p99_ms',
      help: 'event-loop delay p99 since the last scrape, milliseconds',
      registers: [registry],
      collect() {
        this.set(loop.percentile(99) / 1e6);
        loop.reset();
      },
    }),
    deviceUp: new Gauge({
      name: 'parcelguard_device_state',
      help: 'device state: 2 online, 1 degraded, 0 offline',
      labelNames: ['device', 'kind'],
      registers: [registry],
    }),
    cameraFps: new Gauge({
      name: 'parcelguard_camera_fps',
      help: 'frames per second received for analysis, measured over the last window',
      labelNames: ['camera'],
      registers: [registry],
      collect: perCamera('fps'),
    }),
    cameraFrames: new Gauge({
      name: 'parcelguard_camera_frames',
      help: 'frames received for analysis since start',
      labelNames: ['camera'],
      registers: [registry],
      collect: perCamera('frames'),
    }),
    cameraDropped: new Gauge({
      name: 'parcelguard_camera_dropped_frames',
      help: 'frames dropped since start because analysis was still busy with an earlier one',
      labelNames: ['camera'],
      registers: [registry],
      collect: perCamera('dropped'),
    }),
    cameraReconnects: new Gauge({
      name: 'parcelguard_camera_reconnects',
      help: 'stream reconnections since start',
      labelNames: ['camera'],
      registers: [registry],
      collect: perCamera('reconnects'),
    }),
    tamperEvents: new Counter({
      name: 'parcelguard_tamper_events_total',
      help: 'camera tamper conditions that started (black, frozen, covered)',
      labelNames: ['camera', 'condition'],
      registers: [registry],
    }),
    displayAlerts: new Counter({
      name: 'parcelguard_display_alerts_total',
      help: 'display-capture alerts raised (one per tracked threat; muted ones show in GET /api/v1/cameras)',
      labelNames: ['camera'],
      registers: [registry],
    }),
    close() {
      loop.disable();
    },
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;

export interface CameraReading {
  id: string;
  fps: number;
  frames: number;
  dropped: number;
  reconnects: number;
}
