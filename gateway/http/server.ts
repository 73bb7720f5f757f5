import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { PgError } from '../../config/shared/errors.js';
import type { Logger } from '../../config/shared/log.js';

/**
 * The fastify instance with the gateway's error contract: every failure answers
 * `{error: {code, message, fix}}` with a stable PG_ code, and the request log nests untrusted data.
 */
export function createHttpServer(log: Logger, opts: { bodyLimit: number }): FastifyInstance {
  const app: FastifyInstance = Fastify({
    // pino's Logger and fastify's base logger differ only in generic parameters.
    loggerInstance: log as unknown as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit,
    // Per-request lines are written by our own onResponse hook (debug, untrusted parts nested).
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: false,
  });
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof PgError) {
      if (err.status >= 500) req.log.error({ err }, 'request failed');
      return reply.status(err.status).send({ error: err.toJSON() });
    }
    const fe = err as { statusCode?: number; code?: string; message: string };
    const status = fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 600 ? fe.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    if (status === 413) return reply.status(413).send({ error: new PgError('UPLOAD_TOO_LARGE').toJSON() });
    return reply.status(status).send({
      error: {
        code: status >= 500 ? 'PG_INTERNAL' : 'PG_BAD_REQUEST',
        message: status >= 500 ? 'internal error' : fe.message,
        fix: 'see the gateway log',
      },
    });
  });
  app.setNotFoundHandler((_req, reply) =>
    reply.status(404).send({ error: new PgError('NOT_FOUND', 'no such route').toJSON() }),
  );
  app.addHook('onResponse', (req, reply, done) => {
    req.log.debug(
      {
        req: { method: req.method, url: req.url.split('?')[0] },
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'http',
    );
    done();
  });
  return app;
}
