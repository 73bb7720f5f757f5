import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { OnvifCamera } from '../../../adapters/onvif/camera.js';
import type { VideoFrame } from '../../../adapters/rtsp/reader.js';
import { isPgError } from '../../../config/shared/errors.js';
import { createLogger } from '../../../config/shared/log.js';
import { CameraSnapshot } from '../../../gateway/cameras/snapshot.js';
import { type FakeOnvif, startFakeOnvif } from '../../support/fake-onvif.js';

const log = createLogger({ level: 'silent' });
const NOW = 1_750_000_000_000;

/** A 64×48 frame: left half red, right half blue, so orientation and colour survive the check. */
function frame(receivedAt: number, seq = 1): VideoFrame {
  const width = 64;
  const height = 48;
  const data = Buffer.alloc(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const left = p % width < width / 2;
    data[p * 3] = left ? 220 : 10;
    data[p * 3 + 2] = left ? 10 : 220;
  }
  return { streamId: 'cam-1', seq, width, height, data, receivedAt };
}

/** Mean red and blue of a 20×40 region of a JPEG (stats() would see the whole image, not an extract). */
async function regionMean(jpeg: Buffer, left: number): Promise<{ r: number; b: number }> {
  const px = await sharp(jpeg).extract({ left, top: 4, width: 20, height: 40 }).raw().toBuffer();
  let r = 0;
  let b = 0;
  for (let i = 0; i < px.length; i += 3) {
    r += px[i] ?? 0;
    b += px[i + 2] ?? 0;
  }
  const n = px.length / 3;
  return { r: r / n, b: b / n };
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
}

const fakes: FakeOnvif[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});

async function onvifCamera(snapshot: Buffer | 'empty'): Promise<{ device: FakeOnvif; camera: OnvifCamera }> {
  const device = await startFakeOnvif({ username: 'admin', password: 'pw-1234', snapshot });
  fakes.push(device);
  const camera = new OnvifCamera({ xaddr: device.xaddr, username: 'admin', password: 'pw-1234' });
  await camera.connect();
  return { device, camera };
}

describe('CameraSnapshot from the latest frame', () => {
  it('encodes the frame as a JPEG of its size, colours where they were', async () => {
    const f = frame(NOW - 200);
    const snap = new CameraSnapshot({ id: 'cam-1', latestFrame: () => f, log, now: () => NOW });
    const jpeg = await snap.snapshot();
    const meta = await sharp(jpeg).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 64, height: 48 });
    const left = await regionMean(jpeg, 4);
    const right = await regionMean(jpeg, 40);
    expect(left.r).toBeGreaterThan(180);
    expect(left.b).toBeLessThan(50);
    expect(right.b).toBeGreaterThan(180);
    expect(right.r).toBeLessThan(50);
  });

  it('encodes each frame once, however many ask at the same time', async () => {
    let f = frame(NOW - 100, 1);
    const snap = new CameraSnapshot({ id: 'cam-1', latestFrame: () => f, log, now: () => NOW });
    const [a, b] = await Promise.all([snap.snapshot(), snap.snapshot()]);
    expect(a).toBe(b);
    f = frame(NOW - 50, 2);
    expect(await snap.snapshot()).not.toBe(a);
  });

  it('refuses with CAMERA_NO_FRAME when there is no frame, or only an old one', async () => {
    let f: VideoFrame | null = null;
    const snap = new CameraSnapshot({
      id: 'cam-1',
      latestFrame: () => f,
      log,
      now: () => NOW,
      maxAgeMs: 3000,
    });
    const none = await caught(snap.snapshot());
    expect(isPgError(none, 'CAMERA_NO_FRAME') && none.message).toMatch(/has sent no picture yet/);
    f = frame(NOW - 12_500);
    const old = await caught(snap.snapshot());
    expect(isPgError(old, 'CAMERA_NO_FRAME') && old.message).toMatch(/last picture is 12\.5 s old/);
    expect(isPgError(old) && old.status).toBe(503);
  });
});

describe('CameraSnapshot of an ONVIF camera (fake device)', () => {
  it("serves the camera's own JPEG when it has a snapshot URI", async () => {
    const own = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#30a050' } })
      .jpeg()
      .toBuffer();
    const { device, camera } = await onvifCamera(own);
    const snap = new CameraSnapshot({
      id: 'cam-1',
      latestFrame: () => frame(Date.now()),
      onvif: () => camera,
      log,
    });
    expect((await snap.snapshot()).equals(own)).toBe(true);
    expect(device.snapshotRequests).toBeGreaterThan(0);
  });

  it('falls back to a recent frame when the camera snapshot fails, and reports it without one', async () => {
    const { camera } = await onvifCamera('empty');
    let f: VideoFrame | null = frame(Date.now());
    const snap = new CameraSnapshot({ id: 'cam-1', latestFrame: () => f, onvif: () => camera, log });
    const fallback = await snap.snapshot();
    expect((await sharp(fallback).metadata()).width).toBe(64);
    f = null;
    const err = await caught(snap.snapshot());
    expect(isPgError(err, 'SNAPSHOT_EMPTY')).toBe(true);
  });

  it('uses the frame while the ONVIF camera is not initialised yet', async () => {
    const camera = new OnvifCamera({ xaddr: 'http://127.0.0.1:9/onvif/device_service' });
    const snap = new CameraSnapshot({
      id: 'cam-1',
      latestFrame: () => frame(Date.now()),
      onvif: () => camera,
      log,
    });
    expect((await sharp(await snap.snapshot()).metadata()).format).toBe('jpeg');
  });
});
