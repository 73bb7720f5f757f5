import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import { errorMessage } from '../../config/shared/errors.js';
import type { Component } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';

export interface EmbeddedBrokerOptions {
  host: string;
  /** 0 picks a free port; read it back with port() after start. */
  port: number;
  log: Logger;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * An in-process MQTT broker (aedes, memory only) for `make demo` and a gateway with no `mqtt.url`.
 * It is not a production broker: no authentication, no persistence across restarts. The gateway's
 * outbox still guarantees delivery to it, but a site must point `mqtt.url` at the city broker.
 */
export class EmbeddedBroker implements Component {
  readonly name = 'mqtt-embedded-broker';
  private aedes: Aedes | null = null;
  private server: Server | null = null;
  private boundPort = 0;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly opts: EmbeddedBrokerOptions) {}

  /** The port actually bound (differs from the configured one when that was 0). */
  port(): number {
    if (!this.server) throw new Error('embedded broker is not started');
    return this.boundPort;
  }

  /** The URL the MqttLink and `parcelguard watch` connect to. */
  url(): string {
    const host = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    return `mqtt://${host}:${this.port()}`;
  }

  async start(_signal: AbortSignal): Promise<void> {
    const { log } = this.opts;
    const aedes = await Aedes.createBroker();
    aedes.on('clientError', (client, err) => {
      log.debug({ clientId: client.id, err: errorMessage(err) }, 'embedded broker: client error');
    });
    aedes.on('connectionError', (_client, err) => {
      log.debug({ err: errorMessage(err) }, 'embedded broker: connection error');
    });
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      aedes.handle(socket);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.opts.port, this.opts.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      throw new Error(
        `embedded MQTT broker cannot listen on ${this.opts.host}:${this.opts.port}: ${errorMessage(err)}; ` +
          'free the port, set mqtt.embedded.port, or set mqtt.url to an external broker',
        { cause: err },
      );
    }
    server.on('error', (err) => log.error({ err: errorMessage(err) }, 'embedded broker: server error'));
    const address = server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : this.opts.port;
    this.aedes = aedes;
    this.server = server;
    log.warn(
      { host: this.opts.host, port: this.boundPort },
      `no mqtt.url configured: using an embedded MQTT broker on ${this.opts.host}:${this.boundPort} ` +
        '(for demos and tests only; a production site should set mqtt.url to the city broker)',
    );
    if (!LOOPBACK.has(this.opts.host)) {
      log.warn({ host: this.opts.host }, 'embedded broker listens beyond localhost without authentication');
    }
  }

  async stop(): Promise<void> {
    const { aedes, server } = this;
    if (!aedes || !server) return;
    this.aedes = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    // aedes closes its clients; sockets that never finished CONNECT are not its clients yet.
    for (const socket of this.sockets) socket.destroy();
    await closed;
    this.server = null;
    this.opts.log.info('embedded MQTT broker stopped');
  }
}
