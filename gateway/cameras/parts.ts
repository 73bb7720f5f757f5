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

export interface PartsDeps {
  config: Readonly<Config>;
  detector: DetectorPort;
  policy: LabelPolicy;
  frameAlerts: FrameAlerts;
  metrics: Metrics;
  events: (e: TamperEventInput) => void;
  log: Logger;
}

export function buildCameraParts(_camera: CameraConfig, _d: PartsDeps): CameraParts {
  return {};
}
