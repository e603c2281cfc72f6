// The audit log: one row per state change done by a person (who, what, target, when, from which IP, and
// the request id that ties it to the logs). Services write it with `write(client, ...)` in the same
// transaction as the change and its control event, so the three commit together or not at all.
import type { FastifyRequest } from 'fastify';
import type { Pool, PoolClient } from '@parley/db';

/** Who did something, from where: the audit entry's actor, IP and request id. */
export interface Actor {
  id: number | null;
  ip: string | null;
  requestId: string | null;
}

export const actorOf = (req: FastifyRequest): Actor => ({ id: req.user?.id ?? null, ip: req.ip, requestId: req.id });

export type Queryable = Pick<PoolClient, 'query'>;

export interface AuditEntry {
  id: number;
  actor: { id: number; handle: string; displayName: string } | null;
  action: string;
  targetType: string;
  targetId: string | null;
  details: Record<string, unknown>;
  ip: string | null;
  requestId: string | null;
  createdAt: Date;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  since?: Date;
}

export class AuditRepository {
  constructor(private readonly pool: Pool) {}

  /** One entry, written with the caller's transaction client. */
  async write(db: Queryable, actor: Actor, action: string, targetType: string, targetId: string | number | null, details: Record<string, unknown> = {}): Promise<void> {
    await db.query(
      'INSERT INTO audit_log (actor_id, action, target_type, target_id, details, ip, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [actor.id, action, targetType, targetId === null ? null : String(targetId), details, actor.ip, actor.requestId],
    );
  }

  async record(entry: { actorId: number | null; action: string; targetType: string; targetId: string | number | null; details?: Record<string, unknown>; ip?: string | null; requestId?: string | null }): Promise<void> {
    await this.pool.query(
      'INSERT INTO audit_log (actor_id, action, target_type, target_id, details, ip, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [entry.actorId, entry.action, entry.targetType, entry.targetId === null ? null : String(entry.targetId), entry.details ?? {}, entry.ip ?? null, entry.requestId ?? null],
    );
  }

  async list(filter: AuditFilter, limit: number, offset: number): Promise<{ entries: AuditEntry[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: (n: number) => string, value: unknown) => {
      params.push(value);
      where.push(sql(params.length));
    };
    if (filter.actor) add((n) => `u.handle = lower($${n})`, filter.actor.replace(/^@/, ''));
    if (filter.action) add((n) => `a.action LIKE $${n} || '%'`, filter.action);
    if (filter.targetType) add((n) => `a.target_type = $${n}`, filter.targetType);
    if (filter.targetId) add((n) => `a.target_id = $${n}`, filter.targetId);
    if (filter.since) add((n) => `a.created_at >= $${n}`, filter.since);
    const cond = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const { rows } = await this.pool.query<{
      id: number; actor_id: number | null; handle: string | null; display_name: string | null; action: string; target_type: string; target_id: string | null;
      details: Record<string, unknown>; ip: string | null; request_id: string | null; created_at: Date; total: number;
    }>(
      `SELECT a.*, u.handle, u.display_name, count(*) OVER ()::int AS total
       FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id ${cond}
       ORDER BY a.created_at DESC, a.id DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, limit, offset],
    );
    return {
      total: rows[0]?.total ?? 0,
      entries: rows.map((r) => ({
        id: r.id,
        actor: r.actor_id !== null && r.handle !== null ? { id: r.actor_id, handle: r.handle, displayName: r.display_name ?? '' } : null,
        action: r.action, targetType: r.target_type, targetId: r.target_id, details: r.details, ip: r.ip, requestId: r.request_id, createdAt: r.created_at,
      })),
    };
  }

  async actions(): Promise<string[]> {
    const { rows } = await this.pool.query<{ action: string }>('SELECT DISTINCT action FROM audit_log ORDER BY action');
    return rows.map((r) => r.action);
  }
}
