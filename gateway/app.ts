import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { EmbeddedBroker } from '../adapters/mqtt/embedded-broker.js';
import { MqttLink } from '../adapters/mqtt/link.js';
import type { AlertNew } from '../adapters/mqtt/topics.js';
import { Quarantine } from '../adapters/xray/quarantine.js';
import type { Config } from '../config/schema.js';
import { type Component, Lifecycle } from '../config/shared/lifecycle.js';
import { componentLogger, createLogger, type Logger } from '../config/shared/log.js';
import { createOnnxDetector } from '../models/detector.js';
import { AlertEngine } from './alerts/engine.js';
import { FrameAlerts } from './alerts/frame-alerts.js';
import { LabelPolicy } from './alerts/rules.js';
import { AlertUpdater } from './alerts/updates.js';
import { cameraRoutes } from './cameras/camera-routes.js';
import { Cameras } from './cameras/cameras.js';
import { LiveView } from './cameras/live-view.js';
import { buildCameraParts } from './cameras/parts.js';
import { cameraStatusRoutes, VIEW_CAMERAS } from './cameras/status-routes.js';
import { SiteEvidence } from './evidence/site-evidence.js';
import { HttpComponent } from './http/component.js';
import { createMetrics, type Metrics } from './metrics.js';
import { OutboxPublisher } from './outbox/publisher.js';
import { BmpDecoder } from './pipeline/bmp-decoder.js';
import { Scheduler } from './pipeline/scheduler.js';
import { Housekeeper } from './scans/housekeeping.js';
import { DurableIntake } from './scans/intake.js';
import { dataLayout } from './scans/layout.js';
import { Settler } from './scans/settle.js';
import { Store } from './store/store.js';
import { buildXraySources } from './xray-sources.js';

/** The package version, found by walking up from this file (it runs from the sources and from dist/). */
function readVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
    dir = dirname(dir);
  }
  return '0.0.0';
}

export const VERSION = readVersion();

export interface GatewayOptions {
  config: Readonly<Config>;
  log?: Logger;
}

/**
 * The composition root: builds every part from the frozen config and starts them in dependency
 * order (store → broker → link → models → intake/recovery → pipeline → outbox → HTTP → adapters),
 * so input only flows once everything downstream is up. stop() runs the same list backwards.
 */
export class Gateway {
  readonly config: Readonly<Config>;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly store: Store;
  readonly link: MqttLink;
  readonly publisher: OutboxPublisher;
  readonly scheduler: Scheduler;
  readonly intake: DurableIntake;
  readonly http: HttpComponent;
  readonly cameras: Cameras;
  private readonly broker: EmbeddedBroker | null;
  private readonly lifecycle: Lifecycle;
  private readonly components: Component[];

  constructor(opts: GatewayOptions) {
    const cfg = opts.config;
    this.config = cfg;
    this.log = opts.log ?? createLogger({ level: cfg.log.level });
    const child = (c: string) => componentLogger(this.log, c);
    this.metrics = createMetrics();
    const layout = dataLayout(cfg.dataDir);
    this.store = new Store(cfg.dataDir);
    this.lifecycle = new Lifecycle((component, err) => this.log.error({ component, err }, 'lifecycle error'));

    this.broker = cfg.mqtt.url
      ? null
      : new EmbeddedBroker({ ...cfg.mqtt.embedded, log: child('mqtt-embedded') });
    const broker = this.broker;
    this.link = new MqttLink({
      get url() {
        return cfg.mqtt.url ?? broker!.url();
      },
      mqtt: cfg.mqtt,
      site: cfg.site.id,
      version: VERSION,
      log: child('mqtt'),
    });
    this.publisher = new OutboxPublisher({
      store: lazyOutbox(this.store),
      link: this.link,
      inflight: cfg.mqtt.inflight,
      log: child('outbox'),
    });

    const detector = createOnnxDetector(
      cfg.models,
      { workers: cfg.inference.workers, intraOpThreads: cfg.inference.intraOpThreads },
      child('models'),
    );
    const quarantine = new Quarantine({
      dataDir: cfg.dataDir,
      log: child('quarantine'),
      onQuarantine: (source, code) => this.metrics.quarantined.inc({ source, code }),
    });
    const afterSuccess = new Map(cfg.xray.map((x) => [x.id, x.hotFolder?.afterSuccess ?? 'delete'] as const));
    const settler = new Settler(
      this.store,
      layout,
      (id) => afterSuccess.get(id) ?? 'delete',
      async (scan, files) => {
        await quarantine.put({
          sourceId: scan.sourceId,
          via: 'pipeline',
          reason: { code: scan.errorCode ?? 'IMAGE_CORRUPT', message: scan.errorMessage ?? 'rejected' },
          items: files.map((path) => ({
            path,
            originalName: scan.files.find((f) => f.to === path)?.originalName ?? 'unknown',
          })),
          details: { scanId: scan.id },
        });
      },
      child('settler'),
    );
    const policy = new LabelPolicy(cfg.models);
    const updater = new AlertUpdater({
      site: cfg.site.id,
      store: this.store,
      log: child('alerts'),
      onCommitted: () => this.publisher.notify(),
    });
    const evidence = new SiteEvidence({
      config: cfg,
      store: this.store,
      updater,
      log: child('evidence'),
      streamUrl: (id) => this.cameras.get(id).streamUrl(),
    });
    const requestClips = (alert: AlertNew) => {
      // Never rejects: onAlert reports a camera it cannot ask as an alert update with the reason.
      evidence
        .onAlert(alert)
        .catch((err: unknown) => this.log.error({ err, alert: alert.id }, 'clip requests failed'));
    };
    const engine = new AlertEngine({
      site: cfg.site.id,
      sources: new Map(cfg.xray.map((x) => [x.id, { name: x.name }])),
      policy,
      store: this.store,
      layout,
      jpegQuality: cfg.evidence.jpegQuality,
      log: child('alerts'),
      onCommitted: (alert) => {
        if (!alert) return;
        this.metrics.alerts.inc({ category: alert.category, severity: alert.severity });
        this.publisher.notify();
        requestClips(alert);
      },
    });
    const bmp = new BmpDecoder();
    const modelsOf = new Map(cfg.xray.map((x) => [x.id, x.models] as const));
    this.scheduler = new Scheduler({
      store: this.store,
      engine,
      settler,
      metrics: this.metrics,
      log: child('pipeline'),
      maxInFlight: cfg.inference.maxInFlightScans,
      screen: {
        detector,
        modelsOf: (id) => modelsOf.get(id) ?? [],
        maxPixels: cfg.limits.maxImagePixels,
        bmpDecode: (file, max) => bmp.decode(file, max),
        observeInference: (source, ms) => this.metrics.inferenceMs.observe({ source }, ms),
      },
    });
    this.intake = new DurableIntake(this.store, layout, child('intake'), () => this.scheduler.wake());
    const sources = buildXraySources(cfg, {
      intake: this.intake,
      quarantine,
      link: this.link,
      metrics: this.metrics,
      log: child('xray'),
    });
    this.http = new HttpComponent({
      config: cfg,
      log: child('http'),
      store: this.store,
      metrics: this.metrics,
      layout,
      intake: this.intake,
      quarantine,
      probe: {
        modelsLoaded: () => detector.modelInfo().length > 0,
        brokerState: () => this.link.state(),
        dataDir: cfg.dataDir,
        minFreeBytes: 512 * 2 ** 20,
      },
    });
    const frameAlerts = new FrameAlerts({
      site: cfg.site.id,
      cameras: new Map(cfg.cameras.map((c) => [c.id, { name: c.name }])),
      policy,
      store: this.store,
      layout,
      updater,
      jpegQuality: cfg.evidence.jpegQuality,
      log: child('display'),
      onCommitted: (alert) => {
        this.metrics.alerts.inc({ category: alert.category, severity: alert.severity });
        this.publisher.notify();
        requestClips(alert);
      },
    });
    this.cameras = new Cameras({
      site: cfg.site.id,
      cameras: cfg.cameras,
      parts: (camera, events) =>
        buildCameraParts(camera, {
          evidence,
          config: cfg,
          detector,
          policy,
          frameAlerts,
          metrics: this.metrics,
          events,
          log: child('cameras'),
        }),
      link: this.link,
      store: this.store,
      metrics: this.metrics,
      log: child('cameras'),
      onQueued: () => this.publisher.notify(),
    });
    this.http.app.register(cameraStatusRoutes, { cameras: this.cameras, auth: this.http.auth });
    evidence.routes(this.http.app, this.http.auth);
    const liveView = new LiveView({ ...cfg.liveView, log: child('live-view') });
    const cameras = this.cameras;
    this.http.app.register(cameraRoutes, {
      authorize: (req) => {
        this.http.auth.authorize(req, { roles: VIEW_CAMERAS });
      },
      lookup: (id) => {
        const unit = cameras.list().find((u) => u.id === id);
        if (!unit) return undefined;
        const c = unit.config;
        return {
          id,
          name: c.name,
          streamUrl: () => unit.streamUrl(),
          transport: c.stream.transport,
          timeoutMs: c.stream.timeoutMs,
          snapshot: (signal) => unit.snapshot(signal),
        };
      },
      liveView,
    });
    this.metrics.read.outboxDepth = () => this.publisher.depth();
    this.metrics.read.queueDepth = () => this.scheduler.queueDepth();
    const housekeeper = new Housekeeper({
      store: this.store,
      dataDir: cfg.dataDir,
      doneDays: cfg.retention.doneDays,
      outboxSentDays: cfg.retention.outboxSentDays,
      log: child('housekeeping'),
    });
    this.components = [
      this.store,
      housekeeper,
      ...(this.broker ? [this.broker] : []),
      this.link,
      detector,
      bmp,
      this.intake,
      settler,
      this.scheduler,
      this.publisher,
      // Clips before the cameras' recorders: resumed requests pin their video before it ages out.
      ...evidence.components(),
      // Before HTTP, so it stops after it: open MJPEG responses end first, then their ffmpegs.
      liveView,
      this.http,
      ...sources,
      this.cameras,
    ];
  }

  async start(): Promise<void> {
    if (!this.config.mqtt.url) {
      this.log.warn(
        'no mqtt.url configured: using an embedded broker on localhost; a site must point mqtt.url at the city broker',
      );
    }
    await this.lifecycle.startAll(this.components);
    this.log.info(
      { site: this.config.site.id, http: this.http.address(), broker: this.brokerUrl() },
      'gateway started',
    );
  }

  async stop(): Promise<void> {
    await this.lifecycle.stopAll();
    this.metrics.close();
    this.log.info('gateway stopped');
  }

  brokerUrl(): string {
    return this.config.mqtt.url ?? this.broker?.url() ?? '';
  }

  get server(): FastifyInstance {
    return this.http.app;
  }
}

/** The store opens in start(); the publisher is built before that and only reads it once started. */
function lazyOutbox(store: Store) {
  return {
    pending: (after: number, limit: number) => store.outbox.pending(after, limit),
    markSent: (seq: number, at: number) => store.outbox.markSent(seq, at),
    depth: () => store.outbox.depth(),
  };
}
