/**
 * A live view on demand, end to end: a camera without a ring gets a real recorder when its playlist is
 * asked for, the playlist lists real segments a player can decode, and the recorder (its ffmpeg and
 * its video) is gone once nobody asks any more.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { liveEvidencePids } from '../../../gateway/evidence/ffmpeg-process.js';
import { LiveSessions } from '../../../gateway/evidence/hls.js';
import { SegmentRecorder } from '../../../gateway/evidence/recorder.js';
import { evidencePaths } from '../../../gateway/evidence/ring.js';
import { evidenceRoutes } from '../../../gateway/evidence/routes.js';
import { createHttpServer } from '../../../gateway/http/server.js';
import { captureLog, waitFor } from '../../adapters/rtsp/helpers.js';
import { ffprobe } from '../../support/evidence-media.js';
import { describeWithRtsp, useRtspServer } from '../../support/rtsp-server.js';

const root = mkdtempSync(join(tmpdir(), 'pg-live-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describeWithRtsp('live view on demand (real RTSP)', () => {
  const server = useRtspServer({ width: 160, height: 120, fps: 10 });
  const paths = evidencePaths(join(root, 'data'));
  const log = captureLog().log;
  let app: FastifyInstance;
  let live: LiveSessions;

  beforeAll(async () => {
    live = new LiveSessions({
      create: (id) =>
        id === 'door-1'
          ? new SegmentRecorder({
              id,
              url: server().url('h264'),
              record: { ringSeconds: 10, segmentSeconds: 1, preSeconds: 0, postSeconds: 0 },
              dir: paths.liveOf(id),
              log,
              timeoutMs: 1500,
              ephemeral: true,
            })
          : undefined,
      log,
      idleMs: 1500,
      checkMs: 100,
    });
    await live.start(new AbortController().signal);
    app = createHttpServer(log, { bodyLimit: 1024 });
    await app.register(evidenceRoutes, {
      authorize: () => undefined,
      paths,
      isCamera: (id) => id === 'door-1',
      ringOf: () => undefined,
      live,
      firstSegmentWaitMs: 15_000,
    });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await live?.stop();
  });

  it('starts recording on the first playlist request and stops when nobody watches', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/cameras/door-1/live.m3u8' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/^#EXTM3U\n/);
    const uri = res.body.split('\n').find((l) => l.startsWith('/api/v1/cameras/door-1/hls/'));
    expect(uri).toBeDefined();
    const seg = await app.inject({ method: 'GET', url: uri! });
    expect(seg.statusCode).toBe(200);
    const file = join(root, 'segment.ts');
    writeFileSync(file, seg.rawPayload);
    expect(ffprobe(file).streams[0]).toMatchObject({ codec_name: 'h264', width: 160, height: 120 });
    expect(live.active()).toEqual(['door-1']);
    expect(existsSync(paths.liveOf('door-1'))).toBe(true);
    expect(liveEvidencePids()).toHaveLength(1);

    await waitFor('idle stop', () => live.active().length === 0, 5000);
    await waitFor('ffmpeg gone', () => liveEvidencePids().length === 0, 5000);
    await waitFor('video deleted', () => !existsSync(paths.liveOf('door-1')), 5000);
  });
});
