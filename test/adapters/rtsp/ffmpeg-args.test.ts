import { describe, expect, it } from 'vitest';
import { buildFfmpegArgs, frameBytes, videoFilter } from '../../../adapters/rtsp/ffmpeg-args.js';
import { isPgError } from '../../../config/shared/errors.js';

const base = { url: 'rtsp://cam.local:554/stream1', fps: 5, width: 320, height: 240, timeoutMs: 4000 };

/** The value following `flag` (flags may only appear once in a reader's command line). */
function flagValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  expect(args.lastIndexOf(flag)).toBe(i);
  return i >= 0 ? args[i + 1] : undefined;
}

describe('buildFfmpegArgs', () => {
  it('reads over TCP by default, with the socket timeout in microseconds before the input', () => {
    const args = buildFfmpegArgs(base);
    expect(flagValue(args, '-rtsp_transport')).toBe('tcp');
    expect(flagValue(args, '-timeout')).toBe('4000000');
    expect(args.indexOf('-timeout')).toBeLessThan(args.indexOf('-i'));
    expect(args.indexOf('-rtsp_transport')).toBeLessThan(args.indexOf('-i'));
    expect(flagValue(args, '-i')).toBe(base.url);
  });

  it('takes UDP when configured', () => {
    expect(flagValue(buildFfmpegArgs({ ...base, transport: 'udp' }), '-rtsp_transport')).toBe('udp');
  });

  it('always sets -timeout, also for tiny values and rtsps', () => {
    for (const timeoutMs of [100, 1500.4, 60_000]) {
      const args = buildFfmpegArgs({ ...base, url: 'rtsps://cam/x', timeoutMs });
      expect(flagValue(args, '-timeout')).toBe(String(Math.round(timeoutMs * 1000)));
    }
    expect(() => buildFfmpegArgs({ ...base, timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => buildFfmpegArgs({ ...base, timeoutMs: Number.NaN })).toThrow(/timeoutMs/);
  });

  it('writes raw rgb24 frames to stdout, video only, errors only, no progress lines', () => {
    const args = buildFfmpegArgs(base);
    expect(args.slice(-5)).toEqual(['-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
    expect(args).toContain('-an');
    expect(args).toContain('-nostats');
    expect(args).toContain('-nostdin');
    expect(flagValue(args, '-loglevel')).toBe('error');
    expect(frameBytes(320, 240)).toBe(230_400);
  });

  it('samples to the analysis rate, then scales (letterbox by default, exact on request)', () => {
    const args = buildFfmpegArgs(base);
    expect(flagValue(args, '-vf')).toBe(
      'fps=5,scale=320:240:force_original_aspect_ratio=decrease,pad=320:240:(ow-iw)/2:(oh-ih)/2:color=black',
    );
    expect(videoFilter({ fps: 2, width: 640, height: 640, fit: 'stretch' })).toBe('fps=2,scale=640:640');
    expect(videoFilter({ fps: 0.5, width: 64, height: 64, fit: 'stretch' })).toBe('fps=0.5,scale=64:64');
    expect(videoFilter({ fps: 1 / 3, width: 64, height: 64, fit: 'stretch' })).toBe(
      'fps=0.333333,scale=64:64',
    );
    expect(videoFilter({ fps: 5, width: 64, height: 48, padColor: '0x727272' })).toMatch(/color=0x727272$/);
  });

  it('keeps a URL full of shell characters as one argument (spawned without a shell)', () => {
    const url = 'rtsp://u:p%40ss@cam/x?a=1&b=$(reboot);`id`|cat "q" \'s\'';
    const args = buildFfmpegArgs({ ...base, url });
    expect(flagValue(args, '-i')).toBe(url);
    expect(args.filter((a) => a.includes('reboot'))).toEqual([url]);
  });

  it('refuses bad input with a config error that does not echo credentials', () => {
    const attempts: Array<() => unknown> = [
      () => buildFfmpegArgs({ ...base, url: 'http://user:hunter22@cam/x' }),
      () => buildFfmpegArgs({ ...base, fps: 0 }),
      () => buildFfmpegArgs({ ...base, fps: Number.POSITIVE_INFINITY }),
      () => buildFfmpegArgs({ ...base, width: 319.5 }),
      () => buildFfmpegArgs({ ...base, height: 1 }),
      () => buildFfmpegArgs({ ...base, padColor: 'black:x=1' }),
      () => buildFfmpegArgs({ ...base, transport: 'http' as 'tcp' }),
    ];
    for (const attempt of attempts) {
      let caught: unknown;
      try {
        attempt();
      } catch (err) {
        caught = err;
      }
      expect(isPgError(caught, 'CONFIG_INVALID')).toBe(true);
      expect(String((caught as Error).message)).not.toContain('hunter22');
    }
  });
});
