import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { xrayPushRoutes } from '../../adapters/xray/http-push.js';
import type { Quarantine } from '../../adapters/xray/quarantine.js';
import type { Config } from '../../config/schema.js';
import type { Component } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';
import type { ScanIntake } from '../../config/shared/types.js';
import type { Metrics } from '../metrics.js';
import type { DataLayout } from '../scans/layout.js';
import type { Store } from '../store/store.js';
import { alertRoutes } from './alerts-routes.js';
import { PUSH_SCANS, TokenAuth } from './auth.js';
import { healthRoutes, type ReadinessProbe } from './health.js';
import { createHttpServer } from './server.js';

export interface HttpDeps {
  config: Readonly<Config>;
  log: Logger;
  store: Store;
  metrics: Metrics;
  layout: DataLayout;
  intake: ScanIntake;
  quarantine: Quarantine;
  probe: ReadinessProbe;
}

/** The HTTP API as one lifecycle part: routes are registered at construction, the port opens in start(). */
export class HttpComponent implements Component {
  readonly name = 'http';
  readonly app: FastifyInstance;
  readonly auth: TokenAuth;

  constructor(private readonly d: HttpDeps) {
    const cfg = d.config;
    this.auth = new TokenAuth(cfg.http.tokens);
    this.app = createHttpServer(d.log, { bodyLimit: 1024 * 1024 });
    const auth = this.auth;
    this.app.register(healthRoutes, { probe: d.probe, metrics: d.metrics, auth });
    this.app.register(alertRoutes, { store: d.store, auth, layout: d.layout });
    this.app.register(xrayPushRoutes, {
      config: cfg,
      intake: d.intake,
      quarantine: d.quarantine,
      log: d.log,
      authorize: (req, need) => {
        auth.authorize(req, { roles: PUSH_SCANS, device: need.device });
      },
    });
  }

  async start(): Promise<void> {
    await this.app.listen({ host: this.d.config.http.host, port: this.d.config.http.port });
  }

  async stop(): Promise<void> {
    await this.app.close();
  }

  /** host:port actually bound (port 0 in tests picks a free one). */
  address(): string {
    const a = this.app.server.address() as AddressInfo | null;
    return a ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : 'not listening';
  }
}
