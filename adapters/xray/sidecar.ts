import { open } from 'node:fs/promises';
import { z } from 'zod';
import { PgError } from '../../config/shared/errors.js';
import { SAFE_OPEN_FLAGS } from './files.js';

/**
 * Scan metadata that arrives next to the image: a hot-folder sidecar `<stem>.json` / `<key>.json`, or
 * the `meta` field of an HTTP push. Unknown keys are dropped rather than refused, because vendors add
 * their own (operator, lane, belt speed) and a parcel must not go unscreened over an extra field.
 */

/** Sidecars are a few hundred bytes; anything much larger is not one. */
export const MAX_SIDECAR_BYTES = 64 * 1024;

const emptyIsNull = (v: unknown) => (v === '' ? null : v);

export const waybillSchema = z.preprocess(
  emptyIsNull,
  z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'waybill must be 1-64 letters, digits, dash or underscore')
    .nullable()
    .optional(),
);

export const capturedAtSchema = z.preprocess(
  emptyIsNull,
  z.iso
    .datetime({ offset: true, local: true })
    .describe('ISO 8601; machines that write local time without a zone are accepted as they are')
    .nullable()
    .optional(),
);

export const viewNameSchema = z
  .string()
  .regex(/^[a-z0-9-]{1,16}$/, 'view must be 1-16 lowercase letters, digits or dashes');

export const sidecarSchema = z.object({
  waybill: waybillSchema,
  machineId: z.preprocess(
    emptyIsNull,
    z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'machineId must be a plain id')
      .nullable()
      .optional(),
  ),
  view: z.preprocess(emptyIsNull, viewNameSchema.nullable().optional()),
  capturedAt: capturedAtSchema,
});

export interface Sidecar {
  waybill: string | null;
  machineId: string | null;
  view: string | null;
  capturedAt: string | null;
}

export type SidecarResult = { ok: true; value: Sidecar } | { ok: false; error: PgError };

/** `path: message` per zod issue; messages come from our schema, never echo the input. */
export function zodIssues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/** Parses JSON text (BOM tolerated: Windows tools write one) into sidecar fields. Never throws. */
export function parseSidecar(text: string): SidecarResult {
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    // The parser's message quotes the offending text, which is untrusted; a fixed message says enough.
    return { ok: false, error: new PgError('SIDECAR_INVALID', 'not valid JSON') };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, error: new PgError('SIDECAR_INVALID', 'not a JSON object') };
  }
  const parsed = sidecarSchema.safeParse(json);
  if (!parsed.success) return { ok: false, error: new PgError('SIDECAR_INVALID', zodIssues(parsed.error)) };
  const v = parsed.data;
  return {
    ok: true,
    value: {
      waybill: v.waybill ?? null,
      machineId: v.machineId ?? null,
      view: v.view ?? null,
      capturedAt: v.capturedAt ?? null,
    },
  };
}

/** Reads and parses one sidecar file, refusing oversized ones before reading them. Never throws. */
export async function readSidecar(path: string): Promise<SidecarResult> {
  try {
    const fh = await open(path, SAFE_OPEN_FLAGS);
    try {
      const st = await fh.stat();
      if (!st.isFile()) return { ok: false, error: new PgError('SIDECAR_INVALID', 'not a regular file') };
      if (st.size > MAX_SIDECAR_BYTES) {
        return {
          ok: false,
          error: new PgError('SIDECAR_INVALID', `${st.size} bytes, more than ${MAX_SIDECAR_BYTES}`),
        };
      }
      const buf = Buffer.alloc(st.size);
      await fh.read(buf, 0, st.size, 0);
      return parseSidecar(buf.toString('utf8'));
    } finally {
      await fh.close();
    }
  } catch (err) {
    return { ok: false, error: new PgError('SIDECAR_INVALID', 'file cannot be read', { cause: err }) };
  }
}
