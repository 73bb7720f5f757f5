/**
 * What hangs off each camera's stream, by role: a scene camera gets the tamper check and, when it is
 * linked to an X-ray machine, the evidence recorder; an xray-display camera gets the display screener.
 */
import type { CameraConfig, Config } from '../../config/schema.js';
import type { Logger } from '../../config/shared/log.js';
import type { FrameAlerts } from '../alerts/frame-alerts.js';
import type { LabelPolicy } from '../alerts/rules.js';
import type { Metrics } from '../metrics.js';
import type { DetectorPort } from '../pipeline/screen.js';
import type { CameraParts } from './camera-unit.js';
import type { TamperEventInput } from './cameras.js';
import { TamperDetector } from './tamper.js';

export interface PartsDeps {
  config: Readonly<Config>;
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
  return parts;
}
