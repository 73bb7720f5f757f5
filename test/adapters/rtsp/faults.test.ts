import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  classifyExit,
  type ExitFacts,
  scrub,
  secretsOf,
} from '../../../adapters/rtsp/faults.js';

const exit = (over: Partial<ExitFacts>): ExitFacts => ({
  exitCode: 1,
  signal: null,
  stderr: [],
  frames: 0,
  pendingBytes: 0,
  ...over,
});

describe('classifyExit', () => {
  it('calls exit 0 a disconnect, not success', () => {
    expect(classifyExit(exit({ exitCode: 0, frames: 40 }))).toEqual({
      code: 'STREAM_DISCONNECTED',
      reason: 'camera ended the stream',
    });
    // What ffmpeg 5.1 prints when the server is killed mid-stream: still a disconnect, not corruption.
    const killed = [
      '[h264 @ 0x1] no frame!',
      'Error while decoding stream #0:0: Invalid data found when processing input',
    ];
    expect(classifyExit(exit({ exitCode: 0, frames: 40, stderr: killed })).code).toBe('STREAM_DISCONNECTED');
  });

  it('reads ffmpeg’s error lines (as 5.1 prints them) into catalogue codes', () => {
    const cases: Array<[string[], number, string]> = [
      [['[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized'], 0, 'STREAM_AUTH'],
      [['rtsp://***@h/x: Server returned 404 Not Found'], 0, 'STREAM_NOT_FOUND'],
      [
        ['[tcp @ 0x1] Connection to tcp://h:554?timeout=1 failed: Connection refused'],
        0,
        'STREAM_UNREACHABLE',
      ],
      [['rtsp://h/x: No route to host'], 0, 'STREAM_UNREACHABLE'],
      [['rtsp://h/x: Connection timed out'], 0, 'STREAM_UNREACHABLE'],
      [['rtsp://h/x: Connection timed out', 'Last message repeated 2 times'], 12, 'STREAM_STALLED'],
      [['rtsp://h/x: Invalid data found when processing input'], 0, 'STREAM_CORRUPT'],
    ];
    for (const [stderr, frames, code] of cases)
      expect(classifyExit(exit({ stderr, frames })).code).toBe(code);
  });

  it('does not read a port or path in the echoed URL as a status code', () => {
    const stderr = ['rtsp://cam:401/404: Connection refused'];
    expect(classifyExit(exit({ stderr }))).toEqual({
      code: 'STREAM_UNREACHABLE',
      reason: 'connection refused',
    });
  });

  it('calls output ending inside a frame corrupt, and names signals and other codes', () => {
    expect(classifyExit(exit({ exitCode: 0, pendingBytes: 7 })).code).toBe('STREAM_CORRUPT');
    expect(classifyExit(exit({ exitCode: null, signal: 'SIGSEGV' })).reason).toBe(
      'ffmpeg was killed by SIGSEGV',
    );
    expect(classifyExit(exit({ exitCode: 3 })).reason).toBe('ffmpeg exited with code 3');
  });
});

describe('scrub / secretsOf', () => {
  it('removes credentials in URLs and the password wherever it appears, raw or percent-decoded', () => {
    const url = 'rtsp://admin:p%40ss%3Aw0rd@10.0.0.5:554/Streaming/101';
    const secrets = secretsOf(url);
    expect(secrets).toContain('p@ss:w0rd');
    const line = `${url}: 401 (tried p@ss:w0rd and p%40ss%3Aw0rd)\u001b[31m`;
    const out = scrub(line, secrets);
    expect(out).toBe('rtsp://***@10.0.0.5:554/Streaming/101: 401 (tried *** and ***) [31m');
    expect(secretsOf('rtsp://10.0.0.5/x')).toEqual([]);
    expect(scrub('x'.repeat(1000), []).length).toBeLessThanOrEqual(301);
  });
});

describe('backoffDelay', () => {
  it('doubles from the first step up to the cap, with bounded jitter', () => {
    const mid = () => 0.5; // no jitter
    expect([0, 1, 2, 3, 4, 5, 6, 40].map((a) => backoffDelay(a, {}, mid))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
    expect(backoffDelay(0, { initialMs: 1000, jitter: 0.2 }, () => 0)).toBe(800);
    expect(backoffDelay(0, { initialMs: 1000, jitter: 0.2 }, () => 1)).toBe(1200);
    expect(backoffDelay(10, { maxMs: 30_000, jitter: 0.2 }, () => 1)).toBe(30_000);
    expect(backoffDelay(10, { maxMs: 30_000, jitter: 0.2 }, () => 0)).toBe(24_000);
  });
});
