import {
  ALERT_SCHEMA_ID,
  type AlertItem,
  type AlertUpdate,
  alertUpdateSchema,
  type ClipRef,
  topics,
} from '../../adapters/mqtt/topics.js';
import { PgError } from '../../config/shared/errors.js';
import type { Logger } from '../../config/shared/log.js';
import type { Store } from '../store/store.js';

export interface AlertPatch {
  /** A clip (or its absence, with the reason) from one linked camera; replaces that camera's entry. */
  clip?: ClipRef;
  /** Display capture: the items as seen in a better frame (its evidence files were rewritten in place). */
  items?: AlertItem[];
}

export interface UpdaterDeps {
  site: string;
  store: Store;
  log: Logger;
  /** Called after the outbox rows commit, so the publisher wakes at once. */
  onCommitted: () => void;
  now?: () => number;
}

/**
 * The `update` half of the alert lifecycle. An update is folded into the stored alert (so the API and
 * a late consumer see the alert as it stands) and queued on every topic the alert went to, in one
 * transaction: the stored alert and what the city was told never disagree.
 */
export class AlertUpdater {
  private readonly now: () => number;

  constructor(private readonly d: UpdaterDeps) {
    this.now = d.now ?? Date.now;
  }

  apply(alertId: string, patch: AlertPatch): AlertUpdate {
    const at = this.now();
    let out: AlertUpdate | undefined;
    this.d.store.tx(() => {
      const rec = this.d.store.alerts.get(alertId);
      if (!rec) throw new PgError('NOT_FOUND', `no alert ${alertId} to update`);
      const msg = structuredClone(rec.message);
      const update: AlertUpdate = {
        type: 'update',
        schema: ALERT_SCHEMA_ID,
        id: msg.id,
        site: this.d.site,
        category: msg.category,
        at: new Date(at).toISOString(),
      };
      if (patch.clip) {
        const clips = mergeClip(msg.evidence.clips ?? [], patch.clip);
        msg.evidence.clips = clips;
        msg.evidence.clip = clips.find((c) => c.clip !== null)?.clip ?? null;
        update.evidence = { clip: msg.evidence.clip, clips };
      }
      if (patch.items) {
        msg.machine.items = patch.items;
        update.items = patch.items;
        update.evidence = { ...update.evidence, annotated: msg.evidence.annotated };
      }
      // Checked on the way out, like `new`: the city must be able to parse what it is sent.
      out = alertUpdateSchema.parse(update);
      this.d.store.alerts.setMessage(alertId, msg);
      const payload = JSON.stringify(out);
      for (const category of msg.categories) {
        this.d.store.outbox.enqueue(
          { topic: topics.alert(this.d.site, category), payload, qos: 1, retain: false, alertId },
          at,
        );
      }
    });
    this.d.onCommitted();
    this.d.log.debug(
      { alert: alertId, clip: patch.clip?.camera, items: patch.items?.length },
      'alert updated',
    );
    return out!;
  }
}

function mergeClip(clips: readonly ClipRef[], next: ClipRef): ClipRef[] {
  const rest = clips.filter((c) => c.camera !== next.camera);
  return [...rest, next].sort((a, b) => a.camera.localeCompare(b.camera));
}
