import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { TokenConfig } from '../../config/schema.js';
import { PgError } from '../../config/shared/errors.js';

export type Role = TokenConfig['role'];

export interface Principal {
  name: string;
  role: Role;
  devices: readonly string[] | null;
}

export interface Need {
  roles: readonly Role[];
  /** For device-scoped actions (a machine pushing its own scans). */
  device?: string;
}

export const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

/**
 * Bearer tokens are stored hashed in config, so a leaked config file does not leak access. Lookup is
 * by the hash, so comparison time does not depend on how much of a guess was right.
 */
export class TokenAuth {
  private readonly byHash: Map<string, Principal>;

  constructor(tokens: readonly TokenConfig[]) {
    this.byHash = new Map(
      tokens.map((t) => [t.sha256, { name: t.name, role: t.role, devices: t.devices ?? null }]),
    );
  }

  identify(req: FastifyRequest): Principal {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)$/i.exec(h) : null;
    const principal = m ? this.byHash.get(hashToken(m[1]!)) : undefined;
    if (!principal) throw new PgError('AUTH_MISSING');
    return principal;
  }

  authorize(req: FastifyRequest, need: Need): Principal {
    const p = this.identify(req);
    if (!need.roles.includes(p.role)) throw new PgError('AUTH_FORBIDDEN', `role "${p.role}" may not do this`);
    if (need.device !== undefined && p.devices !== null && !p.devices.includes(need.device)) {
      throw new PgError('AUTH_FORBIDDEN', `token "${p.name}" is not scoped to device "${need.device}"`);
    }
    return p;
  }
}

/** Who may read what. The task force sees drug alerts only; devices only push. */
export const READ_ALERTS: readonly Role[] = ['screener', 'supervisor', 'taskforce', 'admin'];
export const READ_METRICS: readonly Role[] = ['supervisor', 'admin'];
export const PUSH_SCANS: readonly Role[] = ['device', 'admin'];
