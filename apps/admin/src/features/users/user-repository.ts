import argon2 from 'argon2';
import type { Pool } from '@parley/db';
import type { Queryable } from '../audit/audit-repository.ts';

export type Role = 'user' | 'moderator' | 'admin';
export type UserStatus = 'active' | 'deactivated' | 'banned';

export interface User {
  id: number;
  email: string;
  handle: string;
  displayName: string;
  role: Role;
  status: UserStatus;
  createdAt: Date;
}

interface UserRow {
  id: number;
  email: string;
  handle: string;
  display_name: string;
  role: Role;
  status: UserStatus;
  created_at: Date;
  password_hash?: string;
}

const toUser = (r: UserRow): User => ({
  id: r.id, email: r.email, handle: r.handle, displayName: r.display_name, role: r.role, status: r.status, createdAt: r.created_at,
});

// OWASP's argon2id baseline (19 MiB, t=2, p=1): strong, and fast enough for a login burst on 2 cores.
const HASH_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string) => argon2.hash(password, HASH_OPTIONS);

// Verifying against this keeps "no such user" as slow as "wrong password" (no user enumeration by timing).
let dummyHash: Promise<string> | null = null;

export class DuplicateUserError extends Error {
  constructor(readonly field: 'email' | 'handle') {
    super(`${field} already taken`);
  }
}

export class UserRepository {
  constructor(private readonly pool: Pool) {}

  async create(input: { email: string; handle: string; displayName: string; password: string; role?: Role }): Promise<User> {
    const hash = await hashPassword(input.password);
    try {
      const { rows } = await this.pool.query<UserRow>(
        `INSERT INTO users (email, handle, display_name, password_hash, role) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
        [input.email.trim(), input.handle, input.displayName, hash, input.role ?? 'user'],
      );
      return toUser(rows[0]!);
    } catch (err) {
      const e = err as { code?: string; constraint?: string };
      if (e.code === '23505') throw new DuplicateUserError(e.constraint === 'users_handle_key' ? 'handle' : 'email');
      throw err;
    }
  }

  /** The user if the password matches (any status: the caller decides what a banned user sees). */
  async verifyCredentials(email: string, password: string): Promise<User | null> {
    const { rows } = await this.pool.query<UserRow>('SELECT * FROM users WHERE lower(email) = lower($1)', [email.trim()]);
    const row = rows[0];
    if (!row?.password_hash) {
      dummyHash ??= hashPassword('not-a-real-password');
      await argon2.verify(await dummyHash, password).catch(() => false);
      return null;
    }
    const ok = await argon2.verify(row.password_hash, password).catch(() => false);
    return ok ? toUser(row) : null;
  }

  async findById(id: number): Promise<User | null> {
    const { rows } = await this.pool.query<UserRow>('SELECT * FROM users WHERE id = $1', [id]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  async findByEmail(email: string): Promise<User | null> {
    const { rows } = await this.pool.query<UserRow>('SELECT * FROM users WHERE lower(email) = lower($1)', [email.trim()]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  async findByHandle(handle: string): Promise<User | null> {
    const { rows } = await this.pool.query<UserRow>('SELECT * FROM users WHERE handle = $1', [handle.toLowerCase()]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  /** Users page: search by email, handle or name (case-insensitive), filter by role/status, newest first. */
  async search(opts: { q?: string; role?: Role; status?: UserStatus; limit: number; offset: number }): Promise<{ users: User[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (opts.q) {
      params.push(`%${opts.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      where.push(`(email ILIKE $${params.length} OR handle ILIKE $${params.length} OR display_name ILIKE $${params.length})`);
    }
    if (opts.role) {
      params.push(opts.role);
      where.push(`role = $${params.length}`);
    }
    if (opts.status) {
      params.push(opts.status);
      where.push(`status = $${params.length}`);
    }
    const cond = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const { rows } = await this.pool.query<UserRow & { total: number }>(
      `SELECT id, email, handle, display_name, role, status, created_at, count(*) OVER ()::int AS total
       FROM users ${cond} ORDER BY id DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, opts.limit, opts.offset],
    );
    let total = rows[0]?.total ?? 0;
    if (!rows.length && opts.offset > 0) {
      const { rows: c } = await this.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM users ${cond}`, params);
      total = c[0]?.n ?? 0;
    }
    return { users: rows.map(toUser), total };
  }

  async updateProfile(id: number, input: { handle: string; displayName: string }): Promise<User> {
    try {
      const { rows } = await this.pool.query<UserRow>(
        'UPDATE users SET handle = $2, display_name = $3, updated_at = now() WHERE id = $1 RETURNING *',
        [id, input.handle, input.displayName],
      );
      return toUser(rows[0]!);
    } catch (err) {
      const e = err as { code?: string };
      if (e.code === '23505') throw new DuplicateUserError('handle');
      throw err;
    }
  }

  /** The stored hash if `password` is the user's current password; null otherwise. */
  async checkPassword(id: number, password: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [id]);
    const hash = rows[0]?.password_hash;
    return hash && (await argon2.verify(hash, password).catch(() => false)) ? hash : null;
  }

  /**
   * Replaces the password hash only if it is still `expected` (a concurrent change wins once); with the
   * caller's transaction client. False when it changed meanwhile.
   */
  async replacePasswordHash(db: Queryable, id: number, expected: string, next: string): Promise<boolean> {
    const { rowCount } = await db.query('UPDATE users SET password_hash = $3, updated_at = now() WHERE id = $1 AND password_hash = $2', [id, expected, next]);
    return (rowCount ?? 0) > 0;
  }

  async setRole(id: number, role: Role, db: Queryable = this.pool): Promise<User | null> {
    const { rows } = await db.query<UserRow>('UPDATE users SET role = $2, updated_at = now() WHERE id = $1 RETURNING *', [id, role]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  async setStatus(id: number, status: UserStatus, db: Queryable = this.pool): Promise<User | null> {
    const { rows } = await db.query<UserRow>('UPDATE users SET status = $2, updated_at = now() WHERE id = $1 RETURNING *', [id, status]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  async countActiveAdmins(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND status = 'active'`);
    return rows[0]?.n ?? 0;
  }
}
