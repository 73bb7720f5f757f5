import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../../../adapters/mqtt/embedded-broker.js';
import { MqttLink } from '../../../adapters/mqtt/link.js';
import { topics } from '../../../adapters/mqtt/topics.js';
import { captureLogger, subscribe } from './helpers.js';

const signal = new AbortController().signal;

describe('EmbeddedBroker', () => {
  it('binds a random port, carries QoS 1 messages and the retained status, and says it is embedded', async () => {
    const { log, lines } = captureLogger('info');
    const broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, log });
    await broker.start(signal);
    const port = broker.port();
    const link = new MqttLink({
      url: broker.url(),
      mqtt: { keepaliveSec: 5, embedded: { host: '127.0.0.1', port: 0 }, inflight: 8 },
      site: 'demo',
      version: '1.0.0',
      log,
    });
    const sub = await subscribe(broker.url(), ['pg-test/#']);
    try {
      expect(port).toBeGreaterThan(0);
      expect(lines.join('\n')).toMatch(/embedded MQTT broker.*production site should set mqtt\.url/);
      await link.start(signal);
      expect(link.state()).toBe('online');
      await link.publish('pg-test/a', '{"n":1}', { qos: 1, retain: false });
      await sub.until(
        (m) => m.some((x) => x.topic === 'pg-test/a' && x.payload === '{"n":1}'),
        5000,
        'message',
      );

      const status = await subscribe(broker.url(), [topics.status('demo')]);
      await status.until((m) => m.length > 0, 5000, 'retained status');
      expect(status.messages[0]?.retain).toBe(true);
      await status.end();
    } finally {
      await sub.end();
      await link.stop();
      await broker.stop();
    }
    // Stopped means the port is free again.
    await new Promise<void>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
    });
  });

  it('fails to start with a clear message when the port is taken', async () => {
    const { log } = captureLogger('warn');
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const addr = holder.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const broker = new EmbeddedBroker({ host: '127.0.0.1', port, log });
    try {
      await expect(broker.start(signal)).rejects.toThrow(/cannot listen.*set mqtt\.url/);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });
});
