import { Writable } from 'node:stream';
import { expect, it } from 'vitest';
import { componentLogger, createLogger, redactUrl } from '../../../config/shared/log.js';

it('redacts passwords, tokens and credentials in URLs; keeps untrusted data nested under the component', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = componentLogger(createLogger({ destination: sink }), 'mqtt');
  log.info(
    {
      url: 'mqtts://gw:hunter2@broker.city:8883',
      mqtt: { password: 'hunter2', username: 'gw' },
      token: 'abc',
    },
    'connecting',
  );
  log.info({ req: { headers: { authorization: 'Bearer abc' } } }, 'request');
  const text = lines.join('');
  expect(text).not.toContain('hunter2');
  expect(text).not.toContain('abc');
  const first = JSON.parse(lines[0]!) as Record<string, unknown>;
  expect(first).toMatchObject({
    component: 'mqtt',
    url: 'mqtts://***@broker.city:8883',
    mqtt: { username: 'gw', password: '***' },
    token: '***',
  });
  expect(redactUrl('rtsp://admin:12345@10.0.0.5:554/stream')).toBe('rtsp://***@10.0.0.5:554/stream');
});
