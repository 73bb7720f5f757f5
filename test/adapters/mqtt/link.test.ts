import { afterEach, expect, it } from 'vitest';
import { type MqttConfig, MqttLink, type MqttLinkOptions } from '../../../adapters/mqtt/link.js';
import { siteStatusSchema, topicMatches, topics } from '../../../adapters/mqtt/topics.js';
import { isPgError } from '../../../config/shared/errors.js';
import type { Logger } from '../../../config/shared/log.js';
import { describeWithMosquitto, useMosquitto } from '../../support/mosquitto.js';
import {
  captureLogger,
  type Subscriber,
  sleep,
  subscribe,
  type TcpProxy,
  tcpProxy,
  waitFor,
} from './helpers.js';

const SITE = 'test-site';
const baseMqtt: MqttConfig = { keepaliveSec: 5, embedded: { host: '127.0.0.1', port: 0 }, inflight: 8 };

describeWithMosquitto('MqttLink against a real mosquitto', () => {
  const broker = useMosquitto();
  const links: MqttLink[] = [];
  const subs: Subscriber[] = [];
  const proxies: TcpProxy[] = [];

  afterEach(async () => {
    broker().resume();
    for (const link of links.splice(0)) await link.stop();
    for (const sub of subs.splice(0)) await sub.end();
    for (const proxy of proxies.splice(0)) await proxy.close();
  });

  async function startLink(opts: Partial<MqttLinkOptions> & { log?: Logger } = {}): Promise<MqttLink> {
    const link = new MqttLink({
      url: broker().url,
      mqtt: baseMqtt,
      site: SITE,
      version: '9.9.9',
      log: opts.log ?? captureLogger('warn').log,
      reconnectMinMs: 100,
      reconnectMaxMs: 300,
      ...opts,
    });
    links.push(link);
    await link.start(new AbortController().signal);
    return link;
  }

  async function watchStatus(): Promise<Subscriber> {
    const sub = await subscribe(broker().url, [topics.status(SITE)]);
    subs.push(sub);
    return sub;
  }

  const states = (sub: Subscriber) =>
    sub.messages.map((m) => siteStatusSchema.parse(JSON.parse(m.payload)).state);

  it('publishes a retained online status on connect and a retained offline status on clean stop', async () => {
    const link = await startLink();
    expect(link.state()).toBe('online');
    const first = await watchStatus();
    await first.until((m) => m.length > 0, 5000, 'retained status');
    expect(first.messages[0]?.retain).toBe(true);
    expect(siteStatusSchema.parse(JSON.parse(first.messages[0]?.payload ?? ''))).toMatchObject({
      state: 'online',
      version: '9.9.9',
    });

    await link.stop();
    expect(link.state()).toBe('offline');
    const after = await watchStatus();
    await after.until((m) => m.length > 0, 5000, 'retained offline');
    expect(states(after)).toEqual(['offline']);
    expect(after.messages[0]?.retain).toBe(true);
  });

  it('resolves a QoS 1 publish only on PUBACK', async () => {
    const link = await startLink();
    const sub = await subscribe(broker().url, ['pg-test/puback']);
    subs.push(sub);
    broker().pause();
    let settled = false;
    const done = link.publish('pg-test/puback', 'hello', { qos: 1, retain: false }).finally(() => {
      settled = true;
    });
    await sleep(400);
    expect(settled).toBe(false);
    broker().resume();
    await done;
    await sub.until((m) => m.some((x) => x.payload === 'hello'), 5000, 'the message');
  });

  it('reports degraded while PUBACKs stall and online again when they come', async () => {
    const link = await startLink({ stallMs: 200 });
    broker().pause();
    const done = link.publish('pg-test/stall', 'x', { qos: 1, retain: false });
    await waitFor(() => link.state() === 'degraded', 3000, 'degraded');
    expect(link.status().reason).toMatch(/no PUBACK/);
    broker().resume();
    await done;
    await waitFor(() => link.state() === 'online', 3000, 'online again');
  });

  it('lets the broker publish the last will when the connection vanishes, and comes back online', async () => {
    const proxy = await tcpProxy(broker().port);
    proxies.push(proxy);
    const link = await startLink({ url: proxy.url });
    const sub = await watchStatus();
    await sub.until((m) => states(sub).includes('online') && m.length > 0, 5000, 'online');
    const seen: string[] = [];
    link.onState((s) => seen.push(s.state));

    proxy.dropAll();
    await sub.until(() => states(sub).includes('offline'), 5000, 'last will');
    await sub.until(
      () => states(sub).lastIndexOf('online') > states(sub).indexOf('offline'),
      5000,
      'online again',
    );
    await waitFor(() => link.state() === 'online', 5000, 'link online');
    expect(seen).toEqual(['offline', 'online']);
    expect(states(sub)).toEqual(['online', 'offline', 'online']);
  });

  it('delivers inbound commands to their handler, and subscribes again after a reconnect', async () => {
    const proxy = await tcpProxy(broker().port);
    proxies.push(proxy);
    const got: string[] = [];
    const link = new MqttLink({
      url: proxy.url,
      mqtt: baseMqtt,
      site: SITE,
      version: '9.9.9',
      log: captureLogger('warn').log,
      reconnectMinMs: 100,
      reconnectMaxMs: 300,
    });
    links.push(link);
    link.subscribe(topics.allTipSet(SITE), (topic, payload) => got.push(`${topic} ${payload.toString()}`));
    link.subscribe(`${topics.allTipSet(SITE)}/never`, () => {
      throw new Error('a filter that does not match must not be called');
    });
    await link.start(new AbortController().signal);
    const sender = await subscribe(broker().url, [`${topics.allTipSet(SITE)}/echo`]);
    subs.push(sender);
    const send = (n: number) =>
      sender.client.publishAsync(topics.tipSet(SITE, 'disp-1'), JSON.stringify({ active: n === 1 }), {
        qos: 1,
      });
    await sleep(200); // the SUBACK races the first publish otherwise
    await send(1);
    await waitFor(() => got.length === 1, 5000, 'first command');
    proxy.dropAll();
    await waitFor(() => link.state() === 'offline', 5000, 'link dropped');
    await waitFor(() => link.state() === 'online', 5000, 'link back');
    await sleep(200);
    await send(2);
    await waitFor(() => got.length === 2, 5000, 'command after reconnect');
    expect(got).toEqual([
      `${topics.tipSet(SITE, 'disp-1')} {"active":true}`,
      `${topics.tipSet(SITE, 'disp-1')} {"active":false}`,
    ]);
  });

  it('keeps the latest device status and republishes it, retained, after a reconnect', async () => {
    const proxy = await tcpProxy(broker().port);
    proxies.push(proxy);
    const link = await startLink({ url: proxy.url });
    const device = {
      id: 'xr-01',
      kind: 'xray' as const,
      state: 'offline' as const,
      reason: 'no heartbeat',
      since: new Date().toISOString(),
      lastSeenAt: null,
    };
    expect(await link.publishDeviceStatus(device)).toBe(true);
    const sub = await subscribe(broker().url, [topics.deviceStatus(SITE, '+')]);
    subs.push(sub);
    await sub.until((m) => m.length === 1, 5000, 'retained device status');
    expect(sub.messages[0]?.retain).toBe(true);
    proxy.dropAll();
    await sub.until((m) => m.length === 2, 5000, 'republished device status');
    expect(JSON.parse(sub.messages[1]?.payload ?? '')).toMatchObject({ id: 'xr-01', state: 'offline' });
  });

  it('never logs credentials', async () => {
    const { log, lines } = captureLogger('debug');
    const url = broker().url.replace('mqtt://', 'mqtt://gateway:url-secret@');
    const link = await startLink({
      url,
      log,
      mqtt: { ...baseMqtt, username: 'gateway', password: 'cfg-secret' },
    });
    expect(link.state()).toBe('online');
    await link.stop();
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toMatch(/url-secret|cfg-secret/);
  });

  // Last: it stops and restarts the shared broker.
  it('starts without a broker, refuses publishes while offline, and connects when the broker appears', async () => {
    await broker().stop();
    const { log, lines } = captureLogger('warn');
    const t0 = Date.now();
    const link = await startLink({ log, startWaitMs: 1500 });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(link.state()).toBe('offline');
    expect(lines.join('\n')).toMatch(/BROKER_UNREACHABLE/);
    const refused = await link
      .publish('pg-test/x', 'x', { qos: 1, retain: false })
      .catch((err: unknown) => err);
    expect(isPgError(refused, 'BROKER_UNREACHABLE')).toBe(true);

    await broker().restart();
    await waitFor(() => link.state() === 'online', 5000, 'online after the broker started');
    await link.publish('pg-test/x', 'x', { qos: 1, retain: false });
  });
});

it('matches MQTT topic filters as brokers do', () => {
  expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
  expect(topicMatches('a/+/c', 'a/b/c/d')).toBe(false);
  expect(topicMatches('a/+', 'a')).toBe(false);
  expect(topicMatches('a/#', 'a/b/c')).toBe(true);
  expect(topicMatches('a/b', 'a/b')).toBe(true);
  expect(topicMatches('a/b', 'a/c')).toBe(false);
  expect(topicMatches('parcelguard/v1/s/devices/+/tip/set', 'parcelguard/v1/s/devices/d1/tip/set')).toBe(
    true,
  );
});
