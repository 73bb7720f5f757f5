import { readFileSync } from 'node:fs';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Config } from '../../config/schema.js';
import { errorMessage, PgError } from '../../config/shared/errors.js';
import {
  type Component,
  type DeviceState,
  type DeviceStatus,
  notifyAll,
} from '../../config/shared/lifecycle.js';
import { type Logger, redactUrl } from '../../config/shared/log.js';
import {
  type DeviceStatusMessage,
  deviceStatusSchema,
  type SiteStatus,
  TOPICS,
  topicMatches,
  topics,
} from './topics.js';

export type MqttConfig = Config['mqtt'];

export interface MqttLinkOptions {
  /** Broker URL. The composition root passes the embedded broker's URL when `mqtt.url` is absent. */
  url: string;
  mqtt: MqttConfig;
  site: string;
  /** Gateway software version, reported in the site status. */
  version: string;
  log: Logger;
  /** First reconnect delay; doubles per failed attempt up to reconnectMaxMs. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** How long start() waits for the first connection before returning with the link offline. */
  startWaitMs?: number;
  /** Upper bound on the clean-shutdown handshake (offline status + DISCONNECT). */
  stopTimeoutMs?: number;
  /** A PUBACK outstanding this long marks the link degraded (broker accepts TCP but does not answer). */
  stallMs?: number;
  connectTimeoutMs?: number;
}

export interface PublishOptions {
  qos: 0 | 1;
  retain: boolean;
}

export interface LinkStatus {
  state: DeviceState;
  reason: string | null;
  since: string;
}

export type LinkListener = (status: LinkStatus) => void;

/** An inbound message. The payload is untrusted: the handler validates it before acting on it. */
export type InboundHandler = (topic: string, payload: Buffer) => void;

interface Pending {
  startedAt: number;
  reject: (err: Error) => void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The gateway's one connection to the broker. It owns the session-level contract (client id, last
 * will, retained online/offline status) and turns mqtt.js's events into an online/degraded/offline
 * state. It never buffers: a publish while offline is refused, and QoS 1 messages in flight when the
 * connection drops are failed rather than left for mqtt.js to resend, because the durable outbox is
 * the one buffer and the publisher resends from it in order.
 */
export class MqttLink implements Component {
  readonly name = 'mqtt-link';
  private client: MqttClient | null = null;
  private connected = false;
  private stopping = false;
  private current: LinkStatus = { state: 'offline', reason: 'not started', since: new Date().toISOString() };
  private lastConnectedAt: string | null = null;
  private lastError: string | null = null;
  private attempts = 0;
  private stallTimer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<LinkListener>();
  private readonly pending = new Set<Pending>();
  private readonly devices = new Map<string, DeviceStatusMessage>();
  private readonly inbound = new Map<string, InboundHandler>();
  private readonly log: Logger;
  private readonly clientId: string;
  private readonly minMs: number;
  private readonly maxMs: number;

  constructor(private readonly opts: MqttLinkOptions) {
    this.log = opts.log;
    this.clientId = opts.mqtt.clientId ?? `parcelguard-${opts.site}`;
    this.minMs = opts.reconnectMinMs ?? 1000;
    this.maxMs = Math.max(this.minMs, opts.reconnectMaxMs ?? 30_000);
  }

  async start(signal: AbortSignal): Promise<void> {
    const { mqtt, url } = this.opts;
    const options: IClientOptions = {
      clientId: this.clientId,
      clean: true,
      keepalive: mqtt.keepaliveSec,
      reconnectPeriod: this.minMs,
      connectTimeout: this.opts.connectTimeoutMs ?? 10_000,
      // A refused CONNACK (bad credentials, broker not ready) is retried like any outage: the
      // technician fixes the broker side and the gateway recovers without a restart.
      reconnectOnConnackError: true,
      resubscribe: false,
      will: {
        topic: topics.status(this.opts.site),
        payload: this.statusPayload('offline'),
        qos: 1,
        retain: true,
      },
      ...this.tlsOptions(),
    };
    if (mqtt.username !== undefined) options.username = mqtt.username;
    if (mqtt.password !== undefined) options.password = mqtt.password;
    this.log.info(
      { url: redactUrl(url), clientId: this.clientId, tls: mqtt.tls !== undefined },
      'connecting to MQTT broker',
    );

    const client = connect(url, options);
    this.client = client;
    const firstOutcome = new Promise<void>((resolve) => {
      client.once('connect', () => resolve());
      client.once('close', () => resolve());
      signal.addEventListener('abort', () => resolve(), { once: true });
      setTimeout(resolve, this.opts.startWaitMs ?? 5000).unref();
    });
    client.on('connect', () => this.onConnect());
    client.on('close', () => this.onClose());
    client.on('error', (err) => {
      this.lastError = errorMessage(err);
      if (!this.connected) this.setState('offline', this.lastError);
    });
    client.on('reconnect', () => this.onReconnectAttempt());
    client.on('message', (topic, payload) => this.dispatch(topic, payload));
    await firstOutcome;
    if (!this.connected) {
      this.log.warn(
        { code: 'BROKER_UNREACHABLE', url: redactUrl(url), reason: this.current.reason },
        'MQTT broker unreachable at start; alerts wait in the outbox while the link keeps retrying',
      );
    }
    this.stallTimer = setInterval(() => this.checkStall(), 1000);
    this.stallTimer.unref();
  }

  async stop(): Promise<void> {
    const client = this.client;
    if (!client || this.stopping) return;
    this.stopping = true;
    if (this.stallTimer) clearInterval(this.stallTimer);
    const deadline = this.opts.stopTimeoutMs ?? 3000;
    if (this.connected) {
      // A clean DISCONNECT makes the broker discard the will, so the offline status is sent by hand.
      const offline = this.send(topics.status(this.opts.site), this.statusPayload('offline'), {
        qos: 1,
        retain: true,
      });
      const sent = await Promise.race([
        offline.then(() => true),
        sleep(deadline / 2).then(() => false),
      ]).catch((err: unknown) => {
        this.log.warn({ err: errorMessage(err) }, 'offline status not acknowledged before shutdown');
        return false;
      });
      if (!sent)
        this.log.warn('offline status not acknowledged in time; the broker will publish the last will');
    }
    this.failInFlight('MQTT link stopped');
    const ended = new Promise<void>((resolve) => {
      client.end(!this.connected, {}, () => resolve());
    });
    const clean = await Promise.race([ended.then(() => true), sleep(deadline / 2).then(() => false)]);
    if (!clean) client.end(true);
    this.connected = false;
    this.setState('offline', 'stopped');
    this.log.info('MQTT link stopped');
  }

  state(): DeviceState {
    return this.current.state;
  }

  status(): LinkStatus {
    return { ...this.current };
  }

  /** The broker as a device, for /readyz and the device-status topic. */
  deviceStatus(): DeviceStatus {
    return { id: 'broker', kind: 'broker', ...this.current, lastSeenAt: this.lastConnectedAt };
  }

  /**
   * Listens to an inbound topic filter at QoS 1. The session is clean, so the filters are subscribed
   * again on every connection; register before start().
   */
  subscribe(filter: string, handler: InboundHandler): void {
    this.inbound.set(filter, handler);
  }

  private dispatch(topic: string, payload: Buffer): void {
    for (const [filter, handler] of this.inbound) {
      if (!topicMatches(filter, topic)) continue;
      try {
        handler(topic, payload);
      } catch (err) {
        // A bad command must not take the link down; the handler's author logs the details.
        this.log.warn({ topic, err: errorMessage(err) }, 'inbound message handler failed');
      }
    }
  }

  /** Listens to state changes; returns the unsubscribe function. */
  onState(listener: LinkListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Publishes one message. QoS 1 resolves on PUBACK; rejects with BROKER_UNREACHABLE when the link is
   * offline or the connection is lost before the PUBACK (the caller decides whether to resend).
   */
  publish(topic: string, payload: string | Buffer, opts: PublishOptions): Promise<void> {
    if (this.stopping) return Promise.reject(new PgError('BROKER_UNREACHABLE', 'MQTT link is stopping'));
    return this.send(topic, payload, opts);
  }

  /**
   * Publishes a device's status, retained. The latest status per device is kept and republished on
   * every reconnect, so the broker's retained view is current even after an outage. Never rejects:
   * true when acknowledged, false when it waits for the next connection.
   */
  async publishDeviceStatus(status: DeviceStatusMessage): Promise<boolean> {
    const parsed = deviceStatusSchema.safeParse(status);
    if (!parsed.success) {
      this.log.error(
        { device: status.id, issues: parsed.error.issues },
        'device status does not match the MQTT contract',
      );
      return false;
    }
    this.devices.set(status.id, parsed.data);
    if (!this.connected || this.stopping) return false;
    return this.sendDevice(parsed.data);
  }

  private async sendDevice(status: DeviceStatusMessage): Promise<boolean> {
    const { qos, retain } = TOPICS.deviceStatus;
    try {
      await this.send(topics.deviceStatus(this.opts.site, status.id), JSON.stringify(status), {
        qos,
        retain,
      });
      return true;
    } catch (err) {
      this.log.debug(
        { device: status.id, err: errorMessage(err) },
        'device status deferred to the next connection',
      );
      return false;
    }
  }

  private send(topic: string, payload: string | Buffer, opts: PublishOptions): Promise<void> {
    const client = this.client;
    if (!client || !this.connected) {
      return Promise.reject(new PgError('BROKER_UNREACHABLE', this.current.reason ?? 'not connected'));
    }
    return new Promise<void>((resolve, reject) => {
      const entry: Pending = { startedAt: Date.now(), reject };
      this.pending.add(entry);
      client.publish(topic, payload, { qos: opts.qos, retain: opts.retain }, (err) => {
        // Already settled when the link failed it on close or stop.
        if (!this.pending.delete(entry)) return;
        if (err) reject(new PgError('BROKER_UNREACHABLE', `no PUBACK: ${err.message}`, { cause: err }));
        else resolve();
        if (this.current.state === 'degraded') this.checkStall();
      });
    });
  }

  private onConnect(): void {
    this.connected = true;
    this.attempts = 0;
    this.lastError = null;
    this.lastConnectedAt = new Date().toISOString();
    if (this.client) this.client.options.reconnectPeriod = this.minMs;
    this.log.info({ url: redactUrl(this.opts.url) }, 'MQTT broker connected');
    // Status first, so a consumer sees the site online before the outbox's backlog arrives.
    const { qos, retain } = TOPICS.status;
    this.send(topics.status(this.opts.site), this.statusPayload('online'), { qos, retain }).catch(
      (err: unknown) => {
        this.log.warn(
          { err: errorMessage(err) },
          'online status not acknowledged; it is sent again on reconnect',
        );
      },
    );
    for (const status of this.devices.values()) void this.sendDevice(status);
    if (this.inbound.size > 0 && this.client) {
      this.client.subscribe([...this.inbound.keys()], { qos: 1 }, (err) => {
        if (err) this.log.warn({ err: errorMessage(err) }, 'subscribing to gateway commands failed');
      });
    }
    this.setState('online', null);
  }

  private onClose(): void {
    const wasConnected = this.connected;
    this.connected = false;
    if (this.stopping) return;
    const reason = this.lastError ?? 'connection closed';
    this.setState('offline', reason);
    if (wasConnected) {
      this.log.warn({ code: 'BROKER_UNREACHABLE', reason }, 'MQTT broker connection lost; retrying');
    }
    this.failInFlight(`connection lost: ${reason}`);
  }

  /**
   * mqtt.js keeps unacknowledged QoS 1 messages and resends them after a reconnect, one at a time
   * and before its `connect` event. The outbox already resends from the first unsent row, so these
   * copies are dropped here and their publishes fail: one resend path, in order, bounded by memory.
   */
  private failInFlight(reason: string): void {
    const client = this.client;
    if (client) {
      for (const [id, entry] of Object.entries(client.outgoing)) {
        if (entry.cmd === 'publish') client.removeOutgoingMessage(Number(id));
      }
    }
    for (const entry of this.pending) entry.reject(new PgError('BROKER_UNREACHABLE', reason));
    this.pending.clear();
  }

  /** Capped exponential backoff with jitter, so a city's gateways do not reconnect in lockstep. */
  private onReconnectAttempt(): void {
    this.attempts += 1;
    const base = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.attempts, 16));
    const jittered = Math.round(base * (0.8 + Math.random() * 0.4));
    const client = this.client;
    if (!client) return;
    client.options.reconnectPeriod = Math.max(1, Math.min(this.maxMs, jittered));
    // The will is fixed at CONNECT time; stamping it per attempt keeps its `at` close to reality.
    if (client.options.will) client.options.will.payload = Buffer.from(this.statusPayload('offline'));
    if (this.attempts === 1 || this.attempts % 10 === 0) {
      this.log.debug(
        { attempt: this.attempts, nextInMs: client.options.reconnectPeriod },
        'reconnecting to MQTT broker',
      );
    }
  }

  private checkStall(): void {
    if (!this.connected || this.stopping) return;
    const stallMs = this.opts.stallMs ?? 15_000;
    let oldest = Number.POSITIVE_INFINITY;
    for (const entry of this.pending) oldest = Math.min(oldest, entry.startedAt);
    const age = Date.now() - oldest;
    if (age > stallMs) this.setState('degraded', `no PUBACK for ${Math.round(age / 1000)} s`);
    else if (this.current.state === 'degraded') this.setState('online', null);
  }

  private setState(state: DeviceState, reason: string | null): void {
    if (this.current.state === state && this.current.reason === reason) return;
    this.current = { state, reason, since: new Date().toISOString() };
    notifyAll(
      this.listeners,
      () => ({ ...this.current }),
      (err) => this.log.error({ err: errorMessage(err) }, 'MQTT link state listener failed'),
    );
  }

  private statusPayload(state: SiteStatus['state']): string {
    const status: SiteStatus = { state, at: new Date().toISOString(), version: this.opts.version };
    return JSON.stringify(status);
  }

  private tlsOptions(): Pick<IClientOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'> {
    const tls = this.opts.mqtt.tls;
    if (!tls) return {};
    const read = (field: 'ca' | 'cert' | 'key'): Buffer | undefined => {
      const path = tls[field];
      if (path === undefined) return undefined;
      try {
        return readFileSync(path);
      } catch (err) {
        throw new PgError('CONFIG_INVALID', `mqtt.tls.${field}: cannot read ${path}`, { cause: err });
      }
    };
    const out: Pick<IClientOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'> = {
      rejectUnauthorized: tls.rejectUnauthorized,
    };
    const ca = read('ca');
    const cert = read('cert');
    const key = read('key');
    if (ca) out.ca = ca;
    if (cert) out.cert = cert;
    if (key) out.key = key;
    return out;
  }
}
