/**
 * One configured camera and everything that hangs off its stream: the analysis reader, the tamper
 * check or the display screener, the evidence recorder, and the device status that sums them up. The
 * stream URL of an ONVIF camera is only known once the camera answers, so the parts that need it are
 * built then, and the unit keeps retrying ONVIF (with backoff) while the camera is unreachable.
 */
import type { DeviceStatusMessage } from '../../adapters/mqtt/topics.js';
import { OnvifCamera } from '../../adapters/onvif/camera.js';
import { backoffDelay } from '../../adapters/rtsp/faults.js';
import { RtspReader, type VideoFrame } from '../../adapters/rtsp/reader.js';
import type { StreamStatus } from '../../adapters/rtsp/stream-status.js';
import type { CameraConfig } from '../../config/schema.js';
import { errorMessage, isPgError } from '../../config/shared/errors.js';
import { type Component, sleep } from '../../config/shared/lifecycle.js';
import type { Logger } from '../../config/shared/log.js';
import { CameraSnapshot } from './snapshot.js';
import type { TamperCondition } from './tamper.js';

/** Scene cameras: watches frames for a black, frozen or covered picture. */
export interface TamperPort {
  observe(frame: VideoFrame): Promise<void>;
  conditions(): TamperCondition[];
}

/** xray-display cameras: screens frames and raises display-capture alerts. */
export interface DisplayPort extends Component {
  consume(frame: VideoFrame): Promise<void>;
  setTip(active: boolean, by?: string): void;
  tip(): boolean;
  /** What the API shows: frames screened, tracks, alerts raised and muted, belt speed. */
  counters(): object;
}

/** The evidence ring buffer of one camera. */
export interface RecorderPort extends Component {
  /** `code` is set when something is wrong (null while starting or stopped). */
  status(): { state: 'online' | 'degraded' | 'offline'; reason: string | null; code: string | null };
  onStatus(listener: () => void): () => void;
}

export interface CameraParts {
  /** Built once the stream URL is known; the URL carries credentials and only ever reaches ffmpeg. */
  recorder?: (url: string) => RecorderPort;
  tamper?: TamperPort;
  display?: DisplayPort;
}

export interface CameraUnitOptions {
  camera: CameraConfig;
  parts: CameraParts;
  log: Logger;
  /** Called whenever the summed-up status changes (state, reason, tamper, TIP). */
  onStatus: (s: DeviceStatusMessage) => void;
  ffmpegPath?: string;
  /** For tests: ONVIF init deadline and retry backoff. */
  onvifTimeoutMs?: number;
  retry?: { initialMs?: number; maxMs?: number };
}

export class CameraUnit implements Component {
  readonly name: string;
  readonly id: string;
  private reader: RtspReader | null = null;
  private recorder: RecorderPort | null = null;
  private onvif: OnvifCamera | null = null;
  private last: VideoFrame | null = null;
  private resolving: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private pre: { reason: string; since: string } = { reason: 'not started', since: new Date().toISOString() };
  private lastSent = '';
  private readonly snap: CameraSnapshot;

  constructor(private readonly o: CameraUnitOptions) {
    this.id = o.camera.id;
    this.name = `camera:${o.camera.id}`;
    this.snap = new CameraSnapshot({
      id: o.camera.id,
      latestFrame: () => this.last,
      onvif: () => this.onvif,
      log: o.log,
    });
  }

  /** The camera's current JPEG: its own ONVIF snapshot, else the newest analysis frame. */
  snapshot(signal?: AbortSignal): Promise<Buffer> {
    return this.snap.snapshot(signal);
  }

  get config(): CameraConfig {
    return this.o.camera;
  }

  async start(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => this.abort.abort(), { once: true });
    const rtsp = this.o.camera.rtsp;
    if (rtsp) {
      await this.attach(rtsp.url);
      return;
    }
    // ONVIF: never hold up the gateway's start for a camera that does not answer.
    this.setPre('resolving the stream address over ONVIF');
    this.resolving = this.resolveOnvif();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.resolving;
    await this.reader?.stop();
    // After the reader: the screener finishes the frame in hand and ends its tracks.
    await this.o.parts.display?.stop();
    await this.recorder?.stop();
  }

  displayCounters(): object | null {
    return this.o.parts.display?.counters() ?? null;
  }

  /** The newest analysis frame, for snapshots when the camera has no snapshot URI of its own. */
  latestFrame(): VideoFrame | null {
    return this.last;
  }

  /** The connected ONVIF camera, when configured and resolved (for its snapshot URI). */
  onvifCamera(): OnvifCamera | null {
    return this.onvif;
  }

  /** The credentialed stream URL once known (ffmpeg only: live view and recorder). */
  streamUrl(): string | null {
    return this.o.camera.rtsp?.url ?? this.onvif?.streamUriWithCredentials() ?? null;
  }

  streamStatus(): StreamStatus | null {
    return this.reader?.status() ?? null;
  }

  recorderStatus(): { state: string; reason: string | null } | null {
    return this.recorder?.status() ?? null;
  }

  setTip(active: boolean, by?: string): void {
    const display = this.o.parts.display;
    if (!display) throw new Error(`camera ${this.id} is not an xray-display camera`);
    display.setTip(active, by);
    this.o.log.warn({ camera: this.id, tip: active, by }, active ? 'TIP on: alerts muted' : 'TIP off');
    this.publish(true);
  }

  tip(): boolean | undefined {
    return this.o.parts.display?.tip();
  }

  /** The device status as MQTT, the API and /metrics show it. */
  status(): DeviceStatusMessage {
    const s = this.reader?.status();
    const tamper = this.o.parts.tamper?.conditions();
    const base: DeviceStatusMessage = s
      ? {
          id: this.id,
          kind: 'camera',
          state: s.state,
          reason: s.reason,
          since: s.since,
          lastSeenAt: s.lastSeenAt,
          stream: {
            fps: Math.round(s.fps * 100) / 100,
            targetFps: s.targetFps,
            frames: s.frames,
            dropped: s.dropped,
            reconnects: s.reconnects,
          },
        }
      : {
          id: this.id,
          kind: 'camera',
          state: 'offline',
          reason: this.pre.reason,
          since: this.pre.since,
          lastSeenAt: null,
        };
    // A camera whose evidence ring fails still streams, but an alert would come without its clip.
    const rec = this.recorder?.status();
    if (rec?.code && base.state === 'online') {
      base.state = 'degraded';
      base.reason = `evidence recorder: ${rec.reason ?? rec.code}`;
    }
    if (tamper) {
      base.tamper = tamper;
      // A camera that delivers frames of a covered lens is not doing its job: degraded, with the cause.
      if (tamper.length > 0 && base.state === 'online') {
        base.state = 'degraded';
        base.reason = `tamper: ${tamper.join(', ')}`;
      }
    }
    const tip = this.tip();
    if (tip !== undefined) base.tip = tip;
    return base;
  }

  /** Re-evaluates the status and reports it when anything visible changed. */
  publish(force = false): void {
    const s = this.status();
    const key = JSON.stringify([s.state, s.reason, s.tamper, s.tip]);
    if (!force && key === this.lastSent) return;
    this.lastSent = key;
    this.o.onStatus(s);
  }

  private setPre(reason: string): void {
    this.pre = { reason, since: new Date().toISOString() };
    this.publish();
  }

  private async resolveOnvif(): Promise<void> {
    const cfg = this.o.camera.onvif!;
    const log = this.o.log.child({ camera: { id: this.id, xaddr: cfg.xaddr } });
    for (let attempt = 0; !this.abort.signal.aborted; attempt++) {
      const cam = new OnvifCamera(
        { xaddr: cfg.xaddr, username: cfg.username, password: cfg.password, profile: cfg.profile },
        { log, timeoutMs: this.o.onvifTimeoutMs ?? 10_000 },
      );
      try {
        const summary = await cam.connect(this.abort.signal);
        this.onvif = cam;
        log.info({ profile: summary.profile, stream: summary.streamUri }, 'ONVIF camera resolved');
        await this.attach(cam.streamUriWithCredentials());
        return;
      } catch (err) {
        if (this.abort.signal.aborted) return;
        const code = isPgError(err) ? err.code : 'ONVIF_UNREACHABLE';
        const wait = backoffDelay(attempt, {
          initialMs: this.o.retry?.initialMs,
          maxMs: this.o.retry?.maxMs,
        });
        this.setPre(`${code}: ${errorMessage(err)}`);
        log.warn({ code, err: errorMessage(err), retryInMs: wait }, 'ONVIF camera not resolved; retrying');
        await sleep(wait, this.abort.signal);
      }
    }
  }

  private async attach(url: string): Promise<void> {
    if (this.abort.signal.aborted) return;
    const c = this.o.camera;
    const display = c.role === 'xray-display';
    this.reader = new RtspReader({
      id: c.id,
      url,
      fps: c.stream.fps,
      width: c.stream.width,
      height: c.stream.height,
      // The display's region of interest is given as fractions of the whole picture: stretch keeps
      // them exact. A scene camera keeps its aspect ratio, so snapshots look like the scene.
      fit: display ? 'stretch' : 'pad',
      transport: c.stream.transport,
      timeoutMs: c.stream.timeoutMs,
      ffmpegPath: this.o.ffmpegPath,
      log: this.o.log,
      onFrame: (f) => this.onFrame(f),
    });
    this.reader.onStatus(() => this.publish());
    if (this.o.parts.recorder) {
      this.recorder = this.o.parts.recorder(url);
      this.recorder.onStatus(() => this.publish());
    }
    await this.o.parts.display?.start(this.abort.signal);
    await this.reader.start(this.abort.signal);
    await this.recorder?.start(this.abort.signal);
    this.publish(true);
  }

  private async onFrame(f: VideoFrame): Promise<void> {
    this.last = f;
    const { tamper, display } = this.o.parts;
    if (tamper) {
      await tamper.observe(f);
      this.publish();
    }
    if (display) await display.consume(f);
  }
}
