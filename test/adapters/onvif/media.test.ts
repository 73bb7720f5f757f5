import { describe, expect, it } from 'vitest';
import {
  chooseProfile,
  deviceText,
  normaliseProfiles,
  type OnvifProfile,
  redactUri,
  withCredentials,
} from '../../../adapters/onvif/media.js';
import type { NodeOnvifProfile } from '../../../adapters/onvif/node-onvif.js';
import { digestAuthorization, parseDigestChallenge } from '../../../adapters/onvif/snapshot.js';

const profile = (over: Partial<OnvifProfile>): OnvifProfile => ({
  token: 't',
  name: 'n',
  encoding: 'H264',
  width: 640,
  height: 360,
  fps: 25,
  streamUri: 'rtsp://cam/1',
  snapshotUri: null,
  ...over,
});

describe('device text', () => {
  it('unwraps xml2js objects and removes control characters that could forge log or YAML lines', () => {
    expect(deviceText({ _: 'Main', $: { lang: 'en' } })).toBe('Main');
    expect(deviceText('Cam\n- id: injected\u001b[31m')).toBe('Cam - id: injected [31m');
    expect(deviceText('  ')).toBeNull();
    expect(deviceText({ nested: 1 })).toBeNull();
    expect(deviceText('x'.repeat(500))?.length).toBe(200);
  });

  it('normalises node-onvif profiles, skipping tokenless ones and non-RTSP stream URIs', () => {
    const raw: NodeOnvifProfile[] = [
      {
        token: 'p1',
        name: { _: 'Main' },
        snapshot: 'http://cam/snap.jpg',
        stream: { udp: 'rtsp://cam/udp', http: '', rtsp: '' },
        video: { encoder: { resolution: { width: 1920, height: '1080' }, framerate: 30, encoding: 'h264' } },
      },
      {
        token: '',
        name: 'x',
        snapshot: '',
        stream: { udp: '', http: '', rtsp: '' },
        video: { encoder: null },
      },
      {
        token: 'p3',
        name: undefined,
        snapshot: 'ftp://nope',
        stream: { udp: '', http: 'http://cam/mjpeg', rtsp: '' },
        video: { encoder: null },
      },
    ];
    expect(normaliseProfiles(raw)).toEqual([
      {
        token: 'p1',
        name: 'Main',
        encoding: 'H264',
        width: 1920,
        height: 1080,
        fps: 30,
        streamUri: 'rtsp://cam/udp',
        snapshotUri: 'http://cam/snap.jpg',
      },
      {
        token: 'p3',
        name: 'p3',
        encoding: null,
        width: null,
        height: null,
        fps: null,
        streamUri: null,
        snapshotUri: null,
      },
    ]);
  });
});

describe('profile choice', () => {
  it('falls back to the largest streamable profile when there is no H.264', () => {
    const chosen = chooseProfile(
      [
        profile({ token: 'a', encoding: 'H265', width: 1280, height: 720 }),
        profile({ token: 'b', encoding: 'H265', width: 3840, height: 2160, streamUri: null }),
        profile({ token: 'c', encoding: 'JPEG', width: 1920, height: 1080 }),
      ],
      undefined,
      'http://cam',
    );
    expect(chosen.token).toBe('c');
  });

  it('explains a device that gives no stream at all', () => {
    expect(() => chooseProfile([], undefined, 'http://cam')).toThrow('has no media profiles');
    expect(() => chooseProfile([profile({ streamUri: null })], undefined, 'http://cam')).toThrow(
      'no RTSP stream URI for any profile',
    );
    expect(() => chooseProfile([profile({ token: 'x', streamUri: null })], 'x', 'http://cam')).toThrow(
      'profile "x" on http://cam has no RTSP stream URI',
    );
  });
});

describe('URIs and credentials', () => {
  it('inserts percent-encoded credentials, and keeps credentials the device embedded itself', () => {
    expect(withCredentials('rtsp://10.0.0.5:554/h264', 'op@site', 'p:w/d?#')).toBe(
      'rtsp://op%40site:p%3Aw%2Fd%3F%23@10.0.0.5:554/h264',
    );
    expect(withCredentials('rtsp://10.0.0.5/h264', '', 'ignored')).toBe('rtsp://10.0.0.5/h264');
    expect(withCredentials('rtsp://dev:own@10.0.0.5/h264', 'admin', 'x')).toBe(
      'rtsp://dev:own@10.0.0.5/h264',
    );
  });

  it('redacts userinfo and credential query parameters, keeps profile tokens', () => {
    expect(redactUri('rtsp://admin:pw@10.0.0.5:554/live')).toBe('rtsp://***@10.0.0.5:554/live');
    expect(redactUri('http://10.0.0.5/snap.cgi?user=admin&pwd=pw&channel=1&token=Profile_1')).toBe(
      'http://10.0.0.5/snap.cgi?user=***&pwd=***&channel=1&token=Profile_1',
    );
    expect(redactUri('http://10.0.0.5/snap.cgi?Pass%77ord=pw&bad=%E0%A4%A')).toBe(
      'http://10.0.0.5/snap.cgi?Pass%77ord=***&bad=%E0%A4%A',
    );
  });
});

describe('HTTP Digest for snapshots', () => {
  it('computes the RFC 2617 example response', () => {
    const challenge = parseDigestChallenge(
      'Basic realm="other", Digest realm="testrealm@host.com", qop="auth,auth-int", ' +
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    );
    expect(challenge?.realm).toBe('testrealm@host.com');
    const header = digestAuthorization(challenge ?? {}, {
      method: 'GET',
      uri: '/dir/index.html',
      username: 'Mufasa',
      password: 'Circle Of Life',
      cnonce: '0a4f113b',
    });
    expect(header).toContain('response="6629fae49393a05397450978507c4ef1"');
    expect(header).toContain('qop=auth, nc=00000001, cnonce="0a4f113b"');
    expect(header).toContain('opaque="5ccc069c403ebaf9f0171e9517f40e41"');
  });

  it('ignores a challenge without Digest or without a nonce', () => {
    expect(parseDigestChallenge('Basic realm="cam"')).toBeNull();
    expect(parseDigestChallenge('Digest realm="cam"')).toBeNull();
  });
});
