/**
 * What hangs off each camera's stream, by role: a scene camera gets the tamper check and, when it is
 * linked to an X-ray machine, the evidence recorder; an xray-display camera gets the display screener.
 */
import type { CameraConfig, Config } from '../../config/schema.js';
import type { Logger } from '../../config/shared/log.js';
import type { FrameAlerts } from '../alerts/frame-alerts.js';
import type { LabelPolicy } from '../alerts/rules.js';
import { DisplayScreener } from '../display/screener.js';
import type { SiteEvidence } from '../evidence/site-evidence.js';
import type { Metrics } from '../metrics.js';
import type { DetectorPort } from '../pipeline/screen.js';
import type { CameraParts } from './camera-unit.js';
import type { TamperEventInput } from './cameras.js';
import { TamperDetector } from './tamper.js';

export interface PartsDeps {
  config: Readonly<Config>;
  evidence: SiteEvidence;
  detector: DetectorPort;
  policy: LabelPolicy;
  frameAlerts: FrameAlerts;
  metrics: Metrics;
  events: (e: TamperEventInput) => void;
  log: Logger;
}

export function buildCameraParts(camera: CameraConfig, d: PartsDeps): CameraParts {
  const parts: CameraParts = {};
  const log = d.log.child({ camera: camera.id });
  // An operator display is a static UI around a scrolling image: it is "frozen" between parcels.
  if (camera.role === 'scene' && camera.tamper.enabled) {
    parts.tamper = new TamperDetector({ id: camera.id, settings: camera.tamper, onEvent: d.events, log });
  }
  if (camera.role === 'xray-display') {
    const raised = d.metrics.displayAlerts.labels({ camera: camera.id });
    parts.display = new DisplayScreener({
      cameraId: camera.id,
      models: camera.models,
      display: camera.display,
      detector: d.detector,
      policy: d.policy,
      sink: {
        raise: async (a) => {
          const id = await d.frameAlerts.raise(a);
          raised.inc();
          return id;
        },
        improve: (id, a) => d.frameAlerts.improve(id, a),
      },
      log,
      observeInference: (ms) => d.metrics.inferenceMs.observe({ source: camera.id }, ms),
    });
  }
  if (d.evidence.records(camera)) parts.recorder = (url) => d.evidence.recorder(camera, url);
  return parts;
}
