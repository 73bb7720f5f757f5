#!/usr/bin/env node
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { errorMessage, isPgError } from '../../config/shared/errors.js';
import { componentLogger, createLogger } from '../../config/shared/log.js';
import { Gateway, VERSION } from '../app.js';
import { hashToken } from '../http/auth.js';
import { XraySimulator } from '../sim/xray-simulator.js';
import { discover } from './discover.js';
import { evalCommand } from './eval.js';
import { synth } from './synth.js';
import { watch } from './watch.js';

const USAGE = `parcelguard ${VERSION}

usage:
  parcelguard run CONFIG            run the gateway
  parcelguard check CONFIG          validate a config; prints every problem as "path: message"
  parcelguard watch [--url URL] [--site ID] [--json] [--username U] [--password P]
                                    print alerts and status from a broker (default mqtt://127.0.0.1:1883)
  parcelguard hash-token TOKEN      the sha256 to put under http.tokens[].sha256
  parcelguard demo [CONFIG]         run the gateway with a simulated X-ray machine (config/examples/demo.yaml)
  parcelguard synth --out DIR --count N --seed S [--dual-view]
                                    write a synthetic X-ray dataset (YOLO format)
  parcelguard discover [--timeout S] [--username U] [--json]
                                    find ONVIF cameras (WS-Discovery) and print config snippets
  parcelguard eval --model NAME|PATH --data DIR [--map A=b,…] [--json]
                                    COCO AP50, AP50:95, precision/recall of a model on a YOLO dataset

environment: PARCELGUARD_MQTT_URL, PARCELGUARD_MQTT_USERNAME, PARCELGUARD_MQTT_PASSWORD, PARCELGUARD_DATA_DIR,
             PARCELGUARD_HTTP_PORT, PARCELGUARD_LOG_LEVEL, PARCELGUARD_SITE_ID`;

function load(path: string | undefined): Readonly<Config> {
  if (!path) {
    console.error(USAGE);
    process.exit(2);
  }
  try {
    const { config, migrations } = loadConfigFile(path);
    for (const m of migrations)
      console.error(`config migrated in memory: ${m} (update the file to silence this)`);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${path}: ${err.issues.length} problem(s)`);
      for (const i of err.issues) console.error(`  ${i.path}: ${i.message}`);
    } else console.error(errorMessage(err));
    process.exit(1);
  }
}

/** Runs until SIGINT/SIGTERM, then stops everything in reverse order. A second signal forces exit. */
async function runUntilSignal(
  gateway: Gateway,
  extra: Array<{ start(s: AbortSignal): Promise<void>; stop(): Promise<void> }> = [],
) {
  const abort = new AbortController();
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    gateway.log.info({ signal: sig }, 'stopping');
    for (const e of [...extra].reverse()) await e.stop();
    await gateway.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  try {
    await gateway.start();
  } catch (err) {
    gateway.log.fatal(
      { err, code: isPgError(err) ? `PG_${err.code}` : undefined },
      'gateway failed to start',
    );
    process.exit(1);
  }
  for (const e of extra) await e.start(abort.signal);
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'run':
      return runUntilSignal(new Gateway({ config: load(rest[0]) }));
    case 'check': {
      const cfg = load(rest[0]);
      console.log(
        `${rest[0]}: ok (site ${cfg.site.id}, ${cfg.xray.length} X-ray machine(s), ${cfg.cameras.length} camera(s), ${cfg.models.length} model(s))`,
      );
      return;
    }
    case 'discover':
      process.exitCode = await discover(rest);
      return;
    case 'eval':
      process.exitCode = await evalCommand(rest);
      return;
    case 'synth':
      process.exitCode = await synth(rest);
      return;
    case 'hash-token':
      if (!rest[0]) throw new Error('usage: parcelguard hash-token TOKEN');
      console.log(hashToken(rest[0]));
      return;
    case 'watch': {
      const { values } = parseArgs({
        args: rest,
        options: {
          url: { type: 'string' },
          site: { type: 'string' },
          json: { type: 'boolean' },
          username: { type: 'string' },
          password: { type: 'string' },
        },
      });
      const abort = new AbortController();
      process.on('SIGINT', () => abort.abort());
      process.on('SIGTERM', () => abort.abort());
      await watch({
        url: values.url ?? process.env.PARCELGUARD_MQTT_URL ?? 'mqtt://127.0.0.1:1883',
        username: values.username ?? process.env.PARCELGUARD_MQTT_USERNAME,
        password: values.password ?? process.env.PARCELGUARD_MQTT_PASSWORD,
        site: values.site,
        json: values.json,
        signal: abort.signal,
      });
      return;
    }
    case 'demo': {
      const config = load(rest[0] ?? 'config/examples/demo.yaml');
      const gateway = new Gateway({ config });
      const machine = config.xray.find((x) => x.hotFolder);
      if (!machine?.hotFolder) throw new Error('the demo config needs an X-ray machine with a hotFolder');
      mkdirSync(machine.hotFolder.path, { recursive: true });
      const sim = new XraySimulator({
        folder: machine.hotFolder.path,
        views: machine.views,
        intervalMs: 1500,
        seed: 1,
        log: componentLogger(gateway.log, 'simulator'),
      });
      await runUntilSignal(gateway, [sim]);
      const http = gateway.http.address();
      console.error(
        [
          '',
          `Parcelguard demo is running (site ${config.site.id}). A simulated X-ray machine drops a parcel every 1.5 s into`,
          `  ${machine.hotFolder.path}`,
          'Where to look:',
          `  alerts live:   node --import tsx gateway/cli/main.ts watch --url ${gateway.brokerUrl()}`,
          `  alerts (API):  curl -H 'Authorization: Bearer demo-admin' http://${http}/api/v1/alerts`,
          `  scan ledger:   curl -H 'Authorization: Bearer demo-admin' http://${http}/api/v1/scans`,
          `  metrics:       curl -H 'Authorization: Bearer demo-admin' http://${http}/metrics`,
          `  health:        curl http://${http}/readyz`,
          `  evidence:      ${config.dataDir}/evidence/scans/<scan id>/annotated.jpg`,
          'Ctrl-C stops it.',
          '',
        ].join('\n'),
      );
      return;
    }
    default:
      console.error(USAGE);
      process.exit(cmd ? 2 : 0);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  createLogger().fatal({ err }, errorMessage(err));
  process.exit(1);
});
