import type { z } from 'zod';

/**
 * Validates a request part (params, query, body) and returns it typed, or throws a 400 that the
 * server's error handler answers as PG_BAD_REQUEST with every problem as "path: message".
 */
export function parseRequest<T extends z.ZodType>(
  schema: T,
  value: unknown,
  where = '(request)',
): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw Object.assign(
      new Error(r.error.issues.map((i) => `${i.path.join('.') || where}: ${i.message}`).join('; ')),
      { statusCode: 400 },
    );
  }
  return r.data;
}
