import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtspReader } from '../../../adapters/rtsp/reader.js';
import { modelSchema } from '../../../config/schema.js';
import type { Box, Detection } from '../../../config/shared/types.js';
import { LabelPolicy } from '../../../gateway/alerts/rules.js';
import { DisplayScreener } from '../../../gateway/display/screener.js';
import type { DetectorPort } from '../../../gateway/pipeline/screen.js';
import { createOnnxDetector } from '../../../models/detector.js';
import { buildScrollingXray, type ScrollingXray } from '../../support/scrolling-xray.js';
import {
  type FileRtspServer,
  scrollingXraySkipReason,
  startFileRtspServer,
} from '../../support/scrolling-xray-server.js';
import { captureLog, iou, modelConfig, RecordingSink, waitFor } from './helpers.js';
import { MarkerDetector } from './marker-detector.js';

/**
 * End to end over real video: the scrolling X-ray fixture (generator parcels, 4 with one threat, 2
 * clean, a UI around the scan area) encoded to H.264, served by a GStreamer RTSP server, read by the
 * real RtspReader (ffmpeg), screened by the DisplayScreener. The pipelines run side by side, each with
 * its own RTSP session, so the file takes one pass of wall time (about 18 s) for all of them.
 */
const REPO = join(import.meta.dirname, '../../..');
const title = 'display capture: a scrolling X-ray display over RTSP';

describe.skipIf(scrollingXraySkipReason !== null)(
  scrollingXraySkipReason ? `${title} (skipped: ${scrollingXraySkipReason})` : title,
  { concurrent: true, timeout: 60_000 },
  () => {
    let dir = '';
    let video: ScrollingXray;
    let server: FileRtspServer | undefined;
    const markerPolicy = new LabelPolicy([modelConfig('markers', [{ name: 'marker' }])]);

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'pg-display-'));
      video = await buildScrollingXray({ dir });
      server = await startFileRtspServer(video.file);
    });
    afterAll(async () => {
      await server?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** Reads the stream from its first frame until `done` (default: the belt is clear), screening it. */
    async function onePass(o: {
      detector: DetectorPort;
      models: string[];
      policy: LabelPolicy;
      roi?: boolean;
      tip?: boolean;
      /** Stop reading once this holds for the highest frame number seen; default: the belt is clear. */
      done?: (lastFrame: number) => boolean;
    }) {
      const { log } = captureLog();
      const sink = new RecordingSink();
      const screener = new DisplayScreener({
        cameraId: 'xr-display',
        models: o.models,
        display: {
          roi: o.roi === false ? undefined : video.roi,
          direction: 'left',
          minHits: 2,
          maxMissed: 4,
        },
        detector: o.detector,
        policy: o.policy,
        sink,
        log,
      });
      if (o.tip) screener.setTip(true, 'test');
      const reader = new RtspReader({
        id: 'xr-display',
        url: server!.url,
        fps: video.fps,
        width: video.width,
        height: video.height,
        fit: 'stretch',
        timeoutMs: 3000,
        log,
      });
      const frameOf = new Map<number, number>();
      let last = -1;
      reader.setConsumer(async (f) => {
        const n = video.frameNumber(f);
        frameOf.set(f.seq, n);
        last = Math.max(last, n);
        await screener.consume(f);
      });
      const ac = new AbortController();
      await screener.start(ac.signal);
      await reader.start(ac.signal);
      try {
        const done = o.done ?? ((n: number) => n >= video.clearFrom + 3);
        await waitFor('the pass to be over', () => done(last), 45_000);
      } finally {
        await reader.stop();
        await screener.stop();
      }
      return { sink, screener, frameOf };
    }

    /** Which fixture threat (parcel index) a box seen in video frame `n` lies on, and how well. */
    function onStrip(box: Box, n: number) {
      const s = video.toStrip(box, n);
      let best = { parcel: -1, overlap: 0, iou: 0 };
      for (const p of video.parcels) {
        for (const t of p.threats) {
          const overlap = inside(s, t.box);
          if (overlap > best.overlap) best = { parcel: p.index, overlap, iou: iou(s, t.box) };
        }
      }
      return best;
    }

    it('each parcel with a threat raises exactly one alert, clean parcels none, best frame shows it whole', async () => {
      const { sink, screener, frameOf } = await onePass({
        detector: new MarkerDetector(),
        models: ['markers'],
        policy: markerPolicy,
      });
      const threatParcels = video.parcels.filter((p) => p.kind === 'threat').map((p) => p.index);
      expect(threatParcels).toHaveLength(4);

      const raisedOn = sink.raised.map((r) => {
        const n = frameOf.get(r.frameSeq);
        expect(n, `frame of seq ${r.frameSeq}`).toBeDefined();
        const hit = onStrip(r.items[0]!.box, n!);
        // At confirmation the threat may still be scrolling in: its box must lie on the threat.
        expect(hit.overlap).toBeGreaterThan(0.8);
        return hit.parcel;
      });
      expect(raisedOn.sort()).toEqual(threatParcels);

      // The evidence that stands (raise, then improvements) is a whole, uncut view of the threat.
      for (const [alertId, latest] of sink.latest()) {
        const hit = onStrip(latest.items[0]!.box, frameOf.get(latest.frameSeq)!);
        expect(hit.iou, `alert ${alertId}`).toBeGreaterThan(0.8);
        expect(latest.items[0]!.score).toBe(0.9);
      }
      for (const r of sink.raised) expect([r.frame.width, r.frame.height]).toEqual([560, 280]);

      const c = screener.counters();
      expect(c).toMatchObject({ alertsRaised: 4, muted: 0, failed: 0, sinkErrors: 0, liveTracks: 0 });
      expect(c.frames).toBeGreaterThan(60);
      expect(c.confirmed).toBe(4);
    });

    it('with TIP on, the same pass raises nothing and counts each threat as muted', async () => {
      const { sink, screener } = await onePass({
        detector: new MarkerDetector(),
        models: ['markers'],
        policy: markerPolicy,
        tip: true,
      });
      expect(sink.raised).toHaveLength(0);
      expect(sink.improved).toHaveLength(0);
      expect(screener.counters()).toMatchObject({ confirmed: 4, muted: 4, alertsRaised: 0, tip: true });
    });

    it('without the ROI, each marker-coloured UI icon raises an alert too (and the threats still one each)', async () => {
      const { sink } = await onePass({
        detector: new MarkerDetector(),
        models: ['markers'],
        policy: markerPolicy,
        roi: false,
      });
      const scan = {
        x2: video.roi.width * video.width,
        y1: video.roi.y * video.height,
        y2: (video.roi.y + video.roi.height) * video.height,
      };
      const inScanArea = (b: Box) => b[2] <= scan.x2 && b[1] >= scan.y1 && b[3] <= scan.y2;
      const boxes = sink.raised.map((r) => r.items[0]!.box);
      expect(boxes.filter((b) => !inScanArea(b))).toHaveLength(3);
      expect(boxes.filter(inScanArea)).toHaveLength(4);
    });

    it('the shipped prohibited-items model screens the display (runs, well-formed detections)', async () => {
      const card = JSON.parse(readFileSync(join(REPO, 'models/prohibited/card.json'), 'utf8')) as {
        version: string;
        input: Record<string, unknown>;
        output: string;
        labels: string[];
      };
      const config = modelSchema.parse({
        name: 'prohibited',
        version: card.version,
        path: join(REPO, 'models/prohibited/model.onnx'),
        input: card.input,
        output: card.output,
        labels: card.labels.map((name) => ({ name, category: 'prohibited' })),
      });
      const { log } = captureLog();
      const onnx = createOnnxDetector([config], { workers: 1, intraOpThreads: 1 }, log);
      const ac = new AbortController();
      await onnx.start(ac.signal);
      const seen: Array<{ width: number; height: number; found: Detection[] }> = [];
      const spy: DetectorPort = {
        modelInfo: () => onnx.modelInfo(),
        detect: async (image, view, names) => {
          const found = await onnx.detect(image, view, names);
          seen.push({ width: image.width, height: image.height, found });
          return found;
        },
      };
      try {
        const { screener } = await onePass({
          detector: spy,
          models: ['prohibited'],
          policy: new LabelPolicy([config]),
          // Three seconds of parcels in view (the first comes in at frame 36).
          done: (n) => n >= 66,
        });
        expect(screener.counters().failed).toBe(0);
        expect(screener.counters().frames).toBe(seen.length);
      } finally {
        await onnx.stop();
      }
      expect(seen.length).toBeGreaterThanOrEqual(5);
      for (const s of seen) {
        expect([s.width, s.height]).toEqual([560, 280]);
        for (const d of s.found) {
          expect(card.labels).toContain(d.label);
          expect(d).toMatchObject({
            category: 'prohibited',
            view: 'display',
            model: { name: 'prohibited', version: card.version },
          });
          expect(d.score).toBeGreaterThanOrEqual(0.25);
          expect(d.score).toBeLessThanOrEqual(1);
          const [x1, y1, x2, y2] = d.box;
          expect(0 <= x1 && x1 < x2 && x2 <= 560 && 0 <= y1 && y1 < y2 && y2 <= 280, `box ${d.box}`).toBe(
            true,
          );
        }
      }
    });
  },
);

/** Share of box `a` that lies inside box `b`. */
function inside(a: Box, b: Box): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const area = (a[2] - a[0]) * (a[3] - a[1]);
  return area > 0 ? (iw * ih) / area : 0;
}
