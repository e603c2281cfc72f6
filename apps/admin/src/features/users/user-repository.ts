import argon2 from 'argon2';
import type { Pool } from '@parley/db';

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
}
