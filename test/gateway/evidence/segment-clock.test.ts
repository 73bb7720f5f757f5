/**
 * The pure parts of recording: reading ffmpeg's segment list, mapping stream time to the wall clock,
 * the segment names that carry those times, and the ffmpeg command line.
 */
import { describe, expect, it } from 'vitest';
import { buildRecorderArgs } from '../../../gateway/evidence/recording-session.js';
import { evidencePaths, parseSegmentName, segmentName } from '../../../gateway/evidence/ring.js';
import { parseListLine, StreamClock } from '../../../gateway/evidence/segment-clock.js';

describe('parseListLine', () => {
  it('reads name, start and end of a CSV segment list line', () => {
    expect(parseListLine('raw-1-1-000003.ts,3.900000,4.900000')).toEqual({
      file: 'raw-1-1-000003.ts',
      start: 3.9,
      end: 4.9,
    });
    expect(parseListLine('"a,""b"".ts",0.000000,1.5')).toEqual({ file: 'a,"b".ts', start: 0, end: 1.5 });
  });

  it('refuses anything else', () => {
    for (const bad of ['', 'hello', 'x.ts,1', 'x.ts,2.0,1.0', 'x.ts,a,b', ',1,2']) {
      expect(parseListLine(bad)).toBeNull();
    }
  });
});

describe('StreamClock', () => {
  it('takes the least delay seen, so one late line (the start-up burst) does not move the estimate', () => {
    const c = new StreamClock();
    const zero = 1_700_000_000_000;
    c.observe(1.9, zero + 1900 + 700); // burst after the probe: 700 ms late
    c.observe(2.9, zero + 2900 + 30);
    c.observe(3.9, zero + 3900 + 45);
    expect(c.offset()).toBe(zero + 30);
    expect(c.toWall(10)).toBe(zero + 10_030);
    expect(c.samples).toBe(3);
  });

  it('follows a drifting camera clock through its sliding window', () => {
    const c = new StreamClock({ window: 3 });
    const zero = 1_700_000_000_000;
    c.observe(1, zero + 1000);
    for (let i = 2; i <= 6; i++) c.observe(i, zero + i * 1000 + 20 * i); // camera runs 2 % slow
    expect(c.offset()).toBe(zero + 80); // the oldest of the last three observations (i = 4)
  });

  it('starts afresh when the stream clock jumps back', () => {
    const c = new StreamClock({ jumpMs: 5000 });
    c.observe(100, 1_000_100_000);
    c.observe(1, 1_000_100_000 + 1000); // offset 99 s higher: timestamps restarted
    expect(c.samples).toBe(1);
    expect(c.offset()).toBe(1_000_100_000);
  });

  it('uses a line that is no key-frame arrival only while nothing better is known', () => {
    const c = new StreamClock();
    expect(c.toWall(1)).toBeNull();
    c.observeLoosely(2, 10_000);
    expect(c.offset()).toBe(8000);
    c.observe(3, 12_500);
    expect(c.offset()).toBe(9500);
  });
});

describe('segment names', () => {
  it('round-trip the sequence, session and wall-clock span', () => {
    const s = { seq: 42, session: 3, startMs: 1_732_270_503_412, endMs: 1_732_270_505_412 };
    const name = segmentName(s);
    expect(name).toBe('42-3-1732270503412-1732270505412.ts');
    expect(parseSegmentName(name)).toEqual(s);
  });

  it('reject hostile and malformed names', () => {
    for (const bad of [
      '../1-1-1732270503412-1732270505412.ts',
      '1-1-1732270503412-1732270505412.ts/../../x',
      '1-1-1732270505412-1732270503412.ts', // ends before it starts
      '1-1-1732270503412-1732270505412.mp4',
      'raw-1-1-000001.ts',
      '%2e%2e%2fpasswd',
    ]) {
      expect(parseSegmentName(bad)).toBeNull();
    }
  });

  it('lay evidence out under the data dir and refuse ids that would leave it', () => {
    const p = evidencePaths('/data');
    expect(p.ringOf('cam-1')).toBe('/data/video/cam-1/ring');
    expect(p.clipsOf('01JD3ZZZZZZZZZZZZZZZZZZZZZ')).toBe('/data/evidence/clips/01JD3ZZZZZZZZZZZZZZZZZZZZZ');
    expect(() => p.ringOf('../etc')).toThrow(/camera/);
    expect(() => p.clipsOf('../../x')).toThrow(/alert/);
  });
});

describe('buildRecorderArgs', () => {
  const base = { transport: 'tcp' as const, timeoutMs: 5000, segmentSeconds: 2, pattern: '/d/raw-%06d.ts' };

  it('copies the first video stream into MPEG-TS segments and reports each on stdout', () => {
    const url = 'rtsp://u:p%40ss;rm -rf@10.0.0.9:554/s?a=1&b=2';
    const args = buildRecorderArgs({ ...base, url });
    expect(args.filter((a) => a === url)).toHaveLength(1); // one argument, whatever it holds
    const at = (flag: string) => args[args.indexOf(flag) + 1];
    expect(at('-rtsp_transport')).toBe('tcp');
    expect(at('-timeout')).toBe('5000000'); // microseconds
    expect(at('-c')).toBe('copy');
    expect(at('-map')).toBe('0:v:0');
    expect(at('-f')).toBe('segment');
    expect(at('-segment_time')).toBe('2');
    expect(at('-segment_format')).toBe('mpegts');
    expect(at('-segment_list')).toBe('pipe:1');
    expect(at('-segment_list_type')).toBe('csv');
    expect(args.indexOf('-timeout')).toBeLessThan(args.indexOf('-i'));
    expect(args.at(-1)).toBe('/d/raw-%06d.ts');
  });

  it('refuses a URL that is not RTSP, without showing its credentials', () => {
    expect(() => buildRecorderArgs({ ...base, url: 'http://admin:hunter22@cam/x' })).toThrow(
      /rtsp.*http:\/\/\*\*\*@cam/,
    );
  });
});
