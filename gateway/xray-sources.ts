import type { MqttLink } from '../adapters/mqtt/link.js';
import { HotFolderWatcher } from '../adapters/xray/hotfolder.js';
import type { Quarantine } from '../adapters/xray/quarantine.js';
import type { Config } from '../config/schema.js';
import type { Component, DeviceStatus } from '../config/shared/lifecycle.js';
import type { Logger } from '../config/shared/log.js';
import type { ScanIntake } from '../config/shared/types.js';
import type { Metrics } from './metrics.js';

const STATE_VALUE = { online: 2, degraded: 1, offline: 0 } as const;

export interface XraySourceDeps {
  intake: ScanIntake;
  quarantine: Quarantine;
  link: Pick<MqttLink, 'publishDeviceStatus'>;
  metrics: Metrics;
  log: Logger;
}

/** Reports a device's state everywhere it is watched: the retained MQTT status and /metrics. */
export function reportDevice(d: Pick<XraySourceDeps, 'link' | 'metrics' | 'log'>, s: DeviceStatus): void {
  d.metrics.deviceUp.set({ device: s.id, kind: s.kind }, STATE_VALUE[s.state]);
  // publishDeviceStatus never rejects; while offline the link keeps the latest and sends it on reconnect.
  void d.link.publishDeviceStatus(s);
  if (s.state !== 'online')
    d.log.warn({ device: s.id, state: s.state, reason: s.reason }, 'device not online');
}

/** One hot-folder watcher per machine that exports to a folder; machines that only push need none. */
export function buildXraySources(cfg: Readonly<Config>, d: XraySourceDeps): Component[] {
  const out: Component[] = [];
  for (const machine of cfg.xray) {
    if (!machine.hotFolder) continue;
    const watcher = new HotFolderWatcher({
      machine,
      dir: machine.hotFolder.path,
      limits: cfg.limits,
      intake: d.intake,
      quarantine: d.quarantine,
      log: d.log,
    });
    watcher.onStatus((s) => reportDevice(d, s));
    out.push(watcher);
  }
  return out;
}
