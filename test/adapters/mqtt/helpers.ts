import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { Writable } from 'node:stream';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { createLogger, type Logger } from '../../../config/shared/log.js';

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

/**
 * A second MQTT client that records what the broker delivers, as the city's consumer would see it.
 * Persistent sessions (clean: false) keep queued messages across a broker restart.
 */
export interface Subscriber {
  client: MqttClient;
  messages: Received[];
  /** Resolves when `predicate` holds for the messages received so far (polled), or rejects after ms. */
  until(predicate: (messages: Received[]) => boolean, ms?: number, what?: string): Promise<void>;
  end(): Promise<void>;
}

export async function subscribe(
  url: string,
  filters: string[],
  opts: IClientOptions = {},
): Promise<Subscriber> {
  const client = connect(url, { reconnectPeriod: 200, connectTimeout: 5000, ...opts });
  const messages: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString(), retain: packet.retain });
  });
  // mqtt.js emits errors while the broker is down in some tests; they are expected there.
  client.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    setTimeout(() => reject(new Error(`subscriber could not connect to ${url}`)), 5000);
  });
  await client.subscribeAsync(filters, { qos: 1 });
  return {
    client,
    messages,
    until: (predicate, ms = 10_000, what = 'condition') => waitFor(() => predicate(messages), ms, what),
    end: () => client.endAsync(true),
  };
}

export async function waitFor(check: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A logger whose lines are kept in memory, to assert on what was (not) logged. */
export function captureLogger(level = 'debug'): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { log: createLogger({ level, destination }), lines };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface TcpProxy {
  url: string;
  /** Destroys every proxied connection without an MQTT DISCONNECT: to the broker, the client vanished. */
  dropAll(): void;
  close(): Promise<void>;
}

/** A loopback TCP proxy, so a test can cut a client's connection the way a network failure would. */
export async function tcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((inbound) => {
    const outbound = tcpConnect({ port: targetPort, host: '127.0.0.1' });
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    const teardown = () => {
      inbound.destroy();
      outbound.destroy();
      pairs.delete(pair);
    };
    inbound.on('error', teardown).on('close', teardown);
    outbound.on('error', teardown).on('close', teardown);
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    dropAll: () => {
      for (const [a, b] of pairs) {
        // RST rather than FIN on the broker side, like a gateway losing power or its uplink.
        b.resetAndDestroy();
        a.destroy();
      }
      pairs.clear();
    },
    close: async () => {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
