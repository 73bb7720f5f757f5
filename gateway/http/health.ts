import { statfs } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';
import { READ_METRICS, type TokenAuth } from './auth.js';

export interface ReadinessProbe {
  modelsLoaded: () => boolean;
  brokerState: () => string;
  dataDir: string;
  minFreeBytes: number;
}

/** /healthz: the process answers (Docker HEALTHCHECK). /readyz: it can screen and deliver. */
export async function healthRoutes(
  app: FastifyInstance,
  o: { probe: ReadinessProbe; metrics: Metrics; auth: TokenAuth },
): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const fs = await statfs(o.probe.dataDir);
    const freeBytes = Number(fs.bavail) * Number(fs.bsize);
    const checks = {
      models: o.probe.modelsLoaded() ? 'ok' : 'not loaded',
      broker: o.probe.brokerState() === 'online' ? 'ok' : o.probe.brokerState(),
      disk: freeBytes >= o.probe.minFreeBytes ? 'ok' : `only ${Math.round(freeBytes / 2 ** 20)} MiB free`,
    };
    const ready = Object.values(checks).every((c) => c === 'ok');
    return reply.status(ready ? 200 : 503).send({ ready, checks, freeBytes });
  });

  app.get('/metrics', async (req, reply) => {
    o.auth.authorize(req, { roles: READ_METRICS });
    return reply.type(o.metrics.registry.contentType).send(await o.metrics.registry.metrics());
  });
}
