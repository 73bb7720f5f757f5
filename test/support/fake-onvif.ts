/**
 * A small fake ONVIF camera for tests: the SOAP device and media services that node-onvif's init()
 * calls (GetSystemDateAndTime, GetCapabilities, GetDeviceInformation, GetProfiles, GetStreamUri,
 * GetSnapshotUri, plus GetServices), WS-UsernameToken authentication as real devices check it, an HTTP
 * snapshot endpoint behind Digest or Basic auth, and optionally a WS-Discovery responder.
 *
 * The XML is written by hand and read with regular expressions on purpose: the point is to stay
 * independent of the XML library node-onvif uses, so a parsing quirk on one side is not mirrored.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

export interface FakeProfile {
  token: string;
  name: string;
  width: number;
  height: number;
  encoding: 'H264' | 'H265' | 'JPEG';
  fps: number;
}

export interface FakeOnvifOptions {
  username?: string;
  password?: string;
  manufacturer?: string;
  model?: string;
  /** Default: a low-resolution sub stream first, then the main stream (so "best" is not "first"). */
  profiles?: FakeProfile[];
  /** RTSP URI per profile token; default rtsp://127.0.0.1:8554/<token>. */
  streamUris?: Record<string, string>;
  /** JPEG served at the snapshot URI; 'empty' answers 200 image/jpeg with no body. */
  snapshot?: Buffer | 'empty';
  snapshotAuth?: 'digest' | 'basic' | 'none';
  /** How a bad WS-UsernameToken is refused: 401, or 400 with a ter:NotAuthorized fault (ONVIF core spec). */
  authFailureStatus?: 400 | 401;
  /** Also answer WS-Discovery probes on 239.255.255.250:3702 (needs a multicast route; see the netns test). */
  discovery?: boolean;
  host?: string;
}

export interface FakeOnvif {
  readonly xaddr: string;
  readonly port: number;
  readonly urn: string;
  /** SOAP operations in the order they arrived, with whether they were authenticated. */
  readonly calls: Array<{ op: string; auth: 'ok' | 'none' | 'bad' }>;
  snapshotRequests: number;
  setSnapshot(s: Buffer | 'empty'): void;
  stop(): Promise<void>;
}

export const FAKE_PROFILES: FakeProfile[] = [
  { token: 'profile_sub', name: 'SubStream', width: 640, height: 360, encoding: 'H264', fps: 15 },
  { token: 'profile_main', name: 'MainStream', width: 1920, height: 1080, encoding: 'H264', fps: 25 },
];

/** ONVIF core: these answer without authentication, even when the request carries a token. */
const PRE_AUTH = new Set(['GetSystemDateAndTime', 'GetCapabilities', 'GetServices', 'GetWsdlUrl']);

const NS = [
  'xmlns:s="http://www.w3.org/2003/05/soap-envelope"',
  'xmlns:tds="http://www.onvif.org/ver10/device/wsdl"',
  'xmlns:trt="http://www.onvif.org/ver10/media/wsdl"',
  'xmlns:tt="http://www.onvif.org/ver10/schema"',
  'xmlns:ter="http://www.onvif.org/ver10/error"',
].join(' ');

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const envelope = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><s:Envelope ${NS}><s:Header/><s:Body>${body}</s:Body></s:Envelope>`;

const fault = (code: string, subcode: string, reason: string) =>
  envelope(
    `<s:Fault><s:Code><s:Value>${code}</s:Value><s:Subcode><s:Value>${subcode}</s:Value></s:Subcode></s:Code>` +
      `<s:Reason><s:Text xml:lang="en">${esc(reason)}</s:Text></s:Reason></s:Fault>`,
  );

/** Text of the first element with this local name, whatever its prefix. */
const element = (xml: string, local: string) =>
  xml.match(new RegExp(`<(?:[\\w-]+:)?${local}(?:\\s[^>]*)?>([^<]*)</(?:[\\w-]+:)?${local}>`))?.[1];

/** WS-UsernameToken check: PasswordDigest = Base64(SHA1(nonce + created + password)), or PasswordText. */
function checkUsernameToken(xml: string, username: string, password: string): 'ok' | 'none' | 'bad' {
  const user = element(xml, 'Username');
  if (user === undefined) return 'none';
  const pass = element(xml, 'Password') ?? '';
  const type = xml.match(/<(?:[\w-]+:)?Password\s[^>]*Type="([^"]*)"/)?.[1] ?? '';
  if (user !== username) return 'bad';
  if (/#PasswordText$/.test(type)) return pass === password ? 'ok' : 'bad';
  const nonce = element(xml, 'Nonce') ?? '';
  const created = element(xml, 'Created') ?? '';
  // Real devices refuse stale or future tokens (replay protection); node-onvif corrects for clock skew.
  if (Math.abs(Date.parse(created) - Date.now()) > 5 * 60_000) return 'bad';
  const digest = createHash('sha1')
    .update(Buffer.concat([Buffer.from(nonce, 'base64'), Buffer.from(created), Buffer.from(password)]))
    .digest('base64');
  return digest === pass ? 'ok' : 'bad';
}

function profileXml(p: FakeProfile): string {
  return (
    `<trt:Profiles token="${esc(p.token)}" fixed="true"><tt:Name>${esc(p.name)}</tt:Name>` +
    `<tt:VideoSourceConfiguration token="vsc_${esc(p.token)}"><tt:Name>VideoSource</tt:Name><tt:UseCount>1</tt:UseCount>` +
    `<tt:SourceToken>vs0</tt:SourceToken><tt:Bounds x="0" y="0" width="${p.width}" height="${p.height}"/></tt:VideoSourceConfiguration>` +
    `<tt:VideoEncoderConfiguration token="vec_${esc(p.token)}"><tt:Name>VideoEncoder</tt:Name><tt:UseCount>1</tt:UseCount>` +
    `<tt:Encoding>${p.encoding}</tt:Encoding><tt:Resolution><tt:Width>${p.width}</tt:Width><tt:Height>${p.height}</tt:Height></tt:Resolution>` +
    `<tt:Quality>5</tt:Quality><tt:RateControl><tt:FrameRateLimit>${p.fps}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval>` +
    `<tt:BitrateLimit>4096</tt:BitrateLimit></tt:RateControl></tt:VideoEncoderConfiguration></trt:Profiles>`
  );
}

const mediaUri = (uri: string) =>
  `<trt:MediaUri><tt:Uri>${esc(uri)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>` +
  `<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri>`;

/** A 32x24 grey JPEG made with sharp, so the bytes are a real decodable image. */
export async function tinyJpeg(): Promise<Buffer> {
  return sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .jpeg()
    .toBuffer();
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

export async function startFakeOnvif(opts: FakeOnvifOptions = {}): Promise<FakeOnvif> {
  const username = opts.username ?? 'admin';
  const password = opts.password ?? 'secret';
  const profiles = opts.profiles ?? FAKE_PROFILES;
  const host = opts.host ?? '127.0.0.1';
  const snapshotAuth = opts.snapshotAuth ?? 'digest';
  const realm = 'fake-onvif';
  const nonces = new Set<string>();
  let snapshot: Buffer | 'empty' = opts.snapshot ?? (await tinyJpeg());
  let base = '';
  const calls: FakeOnvif['calls'] = [];
  const urn = `urn:uuid:${randomUUID()}`;

  const soap = (op: string, xml: string): string | null => {
    const token = element(xml, 'ProfileToken');
    const profile = profiles.find((p) => p.token === token);
    switch (op) {
      case 'GetSystemDateAndTime': {
        const d = new Date();
        return (
          `<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType>` +
          `<tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone><tt:UTCDateTime>` +
          `<tt:Time><tt:Hour>${d.getUTCHours()}</tt:Hour><tt:Minute>${d.getUTCMinutes()}</tt:Minute><tt:Second>${d.getUTCSeconds()}</tt:Second></tt:Time>` +
          `<tt:Date><tt:Year>${d.getUTCFullYear()}</tt:Year><tt:Month>${d.getUTCMonth() + 1}</tt:Month><tt:Day>${d.getUTCDate()}</tt:Day></tt:Date>` +
          `</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>`
        );
      }
      case 'GetCapabilities':
        return (
          `<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Device><tt:XAddr>${base}/onvif/device_service</tt:XAddr></tt:Device>` +
          `<tt:Media><tt:XAddr>${base}/onvif/media_service</tt:XAddr><tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast>` +
          `<tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>` +
          `</tds:Capabilities></tds:GetCapabilitiesResponse>`
        );
      case 'GetServices':
        return (
          `<tds:GetServicesResponse><tds:Service><tds:Namespace>http://www.onvif.org/ver10/device/wsdl</tds:Namespace>` +
          `<tds:XAddr>${base}/onvif/device_service</tds:XAddr><tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>` +
          `<tds:Service><tds:Namespace>http://www.onvif.org/ver10/media/wsdl</tds:Namespace><tds:XAddr>${base}/onvif/media_service</tds:XAddr>` +
          `<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service></tds:GetServicesResponse>`
        );
      case 'GetDeviceInformation':
        return (
          `<tds:GetDeviceInformationResponse><tds:Manufacturer>${esc(opts.manufacturer ?? 'Fakecam')}</tds:Manufacturer>` +
          `<tds:Model>${esc(opts.model ?? 'FK-100')}</tds:Model><tds:FirmwareVersion>1.2.3</tds:FirmwareVersion>` +
          `<tds:SerialNumber>SN0001</tds:SerialNumber><tds:HardwareId>HW1</tds:HardwareId></tds:GetDeviceInformationResponse>`
        );
      case 'GetProfiles':
        return `<trt:GetProfilesResponse>${profiles.map(profileXml).join('')}</trt:GetProfilesResponse>`;
      case 'GetStreamUri':
        // Like most cameras, the same RTSP URI whatever transport the client asks for.
        return profile
          ? `<trt:GetStreamUriResponse>${mediaUri(opts.streamUris?.[profile.token] ?? `rtsp://127.0.0.1:8554/${profile.token}`)}</trt:GetStreamUriResponse>`
          : null;
      case 'GetSnapshotUri':
        return profile
          ? `<trt:GetSnapshotUriResponse>${mediaUri(`${base}/onvif/snapshot?token=${profile.token}`)}</trt:GetSnapshotUriResponse>`
          : null;
      default:
        return null;
    }
  };

  const handleSoap = async (req: IncomingMessage, res: ServerResponse) => {
    const xml = await readBody(req);
    const op = xml.match(/<(?:[\w-]+:)?Body[^>]*>\s*<(?:[\w-]+:)?(\w+)/)?.[1] ?? '';
    const auth = checkUsernameToken(xml, username, password);
    calls.push({ op, auth });
    const send = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/soap+xml; charset=utf-8' });
      res.end(body);
    };
    if (!PRE_AUTH.has(op) && auth !== 'ok') {
      return send(
        opts.authFailureStatus ?? 401,
        fault('s:Sender', 'ter:NotAuthorized', 'Sender not Authorized'),
      );
    }
    const body = soap(op, xml);
    if (body === null)
      return send(400, fault('s:Sender', 'ter:InvalidArgVal', `unsupported or invalid: ${op}`));
    send(200, envelope(body));
  };

  const snapshotAuthorised = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization ?? '';
    if (snapshotAuth === 'none') return true;
    if (snapshotAuth === 'basic')
      return header === `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    const p: Record<string, string> = {};
    for (const m of header.replace(/^Digest\s+/i, '').matchAll(/(\w+)=(?:"([^"]*)"|([^\s,]*))/g))
      p[m[1] ?? ''] = m[2] ?? m[3] ?? '';
    if (!/^Digest\s/i.test(header) || p.username !== username || !nonces.has(p.nonce ?? '')) return false;
    const ha1 = md5(`${username}:${realm}:${password}`);
    const ha2 = md5(`${req.method}:${p.uri}`);
    return p.response === md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`);
  };

  const handleSnapshot = (req: IncomingMessage, res: ServerResponse) => {
    fake.snapshotRequests++;
    if (!snapshotAuthorised(req)) {
      const nonce = randomBytes(16).toString('hex');
      nonces.add(nonce);
      res.writeHead(401, {
        'www-authenticate':
          snapshotAuth === 'basic'
            ? `Basic realm="${realm}"`
            : `Digest realm="${realm}", qop="auth", nonce="${nonce}", algorithm=MD5`,
        'content-type': 'text/html',
      });
      return res.end('<html><body>401 Unauthorized</body></html>');
    }
    const body = snapshot === 'empty' ? Buffer.alloc(0) : snapshot;
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length });
    res.end(body);
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'POST' && (path === '/onvif/device_service' || path === '/onvif/media_service')) {
      handleSoap(req, res).catch((err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      });
    } else if (req.method === 'GET' && path === '/onvif/snapshot') {
      handleSnapshot(req, res);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  base = `http://${host}:${port}`;

  let udp: Socket | null = null;
  if (opts.discovery)
    udp = await startDiscoveryResponder(urn, `${base}/onvif/device_service`, opts.model ?? 'FK-100');

  const fake: FakeOnvif = {
    xaddr: `${base}/onvif/device_service`,
    port,
    urn,
    calls,
    snapshotRequests: 0,
    setSnapshot(s) {
      snapshot = s;
    },
    async stop() {
      const sock = udp;
      udp = null;
      if (sock) await new Promise<void>((resolve) => sock.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}

/** Answers every WS-Discovery Probe with a unicast ProbeMatches naming this device's XAddr. */
async function startDiscoveryResponder(urn: string, xaddr: string, model: string): Promise<Socket> {
  const sock = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(3702, () => {
      sock.removeListener('error', reject);
      resolve();
    });
  });
  sock.addMembership('239.255.255.250');
  // A failed reply must not crash the test process; the test then fails on "device not found".
  sock.on('error', (err) => console.error(`fake WS-Discovery responder: ${err.message}`));
  sock.on('message', (msg, rinfo) => {
    const xml = msg.toString('utf8');
    if (!/<(?:[\w-]+:)?Probe[\s>]/.test(xml)) return; // our own ProbeMatches, Hello or Bye
    const relates = element(xml, 'MessageID') ?? '';
    const scopes = [
      'onvif://www.onvif.org/type/video_encoder',
      'onvif://www.onvif.org/Profile/Streaming',
      `onvif://www.onvif.org/hardware/${model}`,
      'onvif://www.onvif.org/name/Fake_Camera',
      'onvif://www.onvif.org/location/test%20bench',
    ].join(' ');
    const reply =
      `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" ` +
      `xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" ` +
      `xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header><a:MessageID>urn:uuid:${randomUUID()}</a:MessageID>` +
      `<a:RelatesTo>${esc(relates)}</a:RelatesTo><a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>` +
      `<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</a:Action></s:Header><s:Body><d:ProbeMatches>` +
      `<d:ProbeMatch><a:EndpointReference><a:Address>${urn}</a:Address></a:EndpointReference>` +
      `<d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>${esc(scopes)}</d:Scopes><d:XAddrs>${esc(xaddr)}</d:XAddrs>` +
      `<d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>`;
    sock.send(reply, rinfo.port, rinfo.address);
  });
  return sock;
}
