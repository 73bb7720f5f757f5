import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../../../adapters/mqtt/embedded-broker.js';
import { MqttLink } from '../../../adapters/mqtt/link.js';
import { topics } from '../../../adapters/mqtt/topics.js';
import { EXAMPLES } from '../../../docs/generate.js';
import { formatMessage, watch } from '../../../gateway/cli/watch.js';
import { captureLogger, waitFor } from './helpers.js';

// `parcelguard watch` lives in gateway/cli; its tests sit here with the MQTT adapter they exercise.
const alertNew = EXAMPLES.alert[0]?.payload;
const alertUpdate = EXAMPLES.alert[1]?.payload;
const ALERT_TOPIC = 'parcelguard/v1/pt-sc-03/alerts/prohibited';

describe('watch: formatting', () => {
  it('prints one readable line per alert with time, site, type, category, severity, id, waybill and items', () => {
    const line = formatMessage(ALERT_TOPIC, Buffer.from(JSON.stringify(alertNew)), false);
    expect(line).not.toContain('\n');
    for (const part of [
      '2026-11-22T10:15:03.412Z',
      'pt-sc-03',
      'NEW',
      'prohibited',
      'red',
      '01JD3M4Z8Q2W6N5T7R9Y1B3C5D',
    ]) {
      expect(line).toContain(part);
    }
    expect(line).toContain('waybill=SF1234567890');
    expect(line).toContain('knife:0.91');
    expect(formatMessage(ALERT_TOPIC, Buffer.from(JSON.stringify(alertUpdate)), false)).toMatch(
      /UPDATE .*confirmed by screener-07/,
    );
  });

  it('prints status and device status lines', () => {
    const status = JSON.stringify({ state: 'offline', at: '2026-11-22T06:00:00.000Z', version: '0.1.0' });
    expect(formatMessage('parcelguard/v1/s1/status', Buffer.from(status), false)).toMatch(
      /s1 {2}STATUS {2}offline/,
    );
    const device = EXAMPLES.deviceStatus[0]?.payload;
    expect(
      formatMessage('parcelguard/v1/s1/devices/xr-04/status', Buffer.from(JSON.stringify(device)), false),
    ).toMatch(/DEVICE {2}xray xr-04 {2}degraded/);
  });

  it('flags payloads that break the contract and never lets payload text forge lines', () => {
    const bad = formatMessage(ALERT_TOPIC, Buffer.from('{"type":"new","id":1}'), false);
    expect(bad).toMatch(/INVALID/);
    expect(formatMessage(ALERT_TOPIC, Buffer.from('not json\nFAKE LINE'), false)).not.toContain('\n');
    const sneaky = { ...(alertNew as Record<string, unknown>) };
    sneaky.scan = { ...(sneaky.scan as Record<string, unknown>), waybill: 'SF1\n2026-01-01 FAKE' };
    expect(formatMessage(ALERT_TOPIC, Buffer.from(JSON.stringify(sneaky)), false)).not.toContain('\n');
  });

  it('prints raw JSON lines with the topic when asked', () => {
    const line = formatMessage(ALERT_TOPIC, Buffer.from(JSON.stringify(alertNew)), true);
    expect(JSON.parse(line)).toEqual({ topic: ALERT_TOPIC, payload: alertNew });
  });
});

describe('watch: against a broker', () => {
  it('subscribes to alerts and status of the site and stops when the signal aborts', async () => {
    const { log } = captureLogger('error');
    const broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, log });
    await broker.start(new AbortController().signal);
    const out = new PassThrough();
    const err = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => {
      text += c.toString();
    });
    let notices = '';
    err.on('data', (c: Buffer) => {
      notices += c.toString();
    });
    const abort = new AbortController();
    const link = new MqttLink({
      url: broker.url(),
      mqtt: { keepaliveSec: 5, embedded: { host: '127.0.0.1', port: 0 }, inflight: 8 },
      site: 'pt-sc-03',
      version: '0.1.0',
      log,
    });
    try {
      const watching = watch({ url: broker.url(), site: 'pt-sc-03', signal: abort.signal, out, err });
      await waitFor(() => notices.includes('watching'), 5000, 'watch connected');
      await link.start(new AbortController().signal);
      await link.publish(topics.alert('pt-sc-03', 'prohibited'), JSON.stringify(alertNew), {
        qos: 1,
        retain: false,
      });
      await waitFor(
        () => text.includes('knife:0.91') && text.includes('STATUS'),
        5000,
        'alert and status lines',
      );
      abort.abort();
      await watching;
      expect(text.trim().split('\n').length).toBe(2);
    } finally {
      await link.stop();
      await broker.stop();
    }
  });
});
