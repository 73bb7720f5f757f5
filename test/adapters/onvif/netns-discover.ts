/**
 * Child side of the WS-Discovery test (discover.test.ts spawns it): runs inside a fresh network
 * namespace whose only interface is loopback with a multicast route, so node-onvif's probe (which
 * cannot choose an interface) reaches the fake device's responder and nothing else. Prints one JSON
 * line with the fake's identity and what `parcelguard discover` wrote.
 */
import { Writable } from 'node:stream';
import { probeOnvif } from '../../../adapters/onvif/discovery.js';
import { discover } from '../../../gateway/cli/discover.js';
import { startFakeOnvif } from '../../support/fake-onvif.js';

const PASSWORD = 'netns-Secret-42';

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

const fake = await startFakeOnvif({
  username: 'viewer',
  password: PASSWORD,
  discovery: true,
  model: 'FK-200',
});
try {
  // The bare probe first: what the device announced, before any SOAP call.
  const probed = await probeOnvif(1_600);
  const out = sink();
  const err = sink();
  const code = await discover(['--timeout', '1.6', '--username', 'viewer'], {
    out: out.stream,
    err: err.stream,
    env: { PARCELGUARD_ONVIF_PASSWORD: PASSWORD },
  });
  process.stdout.write(
    `${JSON.stringify({ xaddr: fake.xaddr, urn: fake.urn, password: PASSWORD, probed, code, out: out.text(), err: err.text() })}\n`,
  );
} finally {
  await fake.stop();
}
