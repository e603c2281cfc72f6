import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import { DuplicateUserError, UserRepository, hashPassword } from './user-repository.ts';

let db: TestDatabase;
let users: UserRepository;

beforeAll(async () => {
  db = await createTestDatabase('admin_users');
  users = new UserRepository(db.pool);
  for (let i = 0; i < 30; i++) {
    await db.pool.query(`INSERT INTO users (email, handle, display_name, password_hash, role) VALUES ($1, $2, $3, 'x', $4)`,
      [`p${i}@example.test`, `person_${i}`, i === 7 ? 'Zoë 100%_match' : `Person ${i}`, i % 10 === 0 ? 'moderator' : 'user']);
  }
});
afterAll(async () => db?.drop());

describe('UserRepository (admin parts)', () => {
  it('searches by email, handle or name, filters, and pages with a total', async () => {
    const page1 = await users.search({ limit: 25, offset: 0 });
    expect(page1.total).toBe(30);
    expect(page1.users).toHaveLength(25);
    const page2 = await users.search({ limit: 25, offset: 25 });
    expect(page2.users).toHaveLength(5);
    expect(new Set([...page1.users, ...page2.users].map((u) => u.id)).size).toBe(30);
    expect((await users.search({ q: 'PERSON_1', limit: 50, offset: 0 })).total).toBe(11); // person_1, person_10..19
    expect((await users.search({ q: 'p3@', limit: 50, offset: 0 })).users.map((u) => u.handle)).toEqual(['person_3']);
    // LIKE wildcards in the query are literal.
    expect((await users.search({ q: '100%_', limit: 50, offset: 0 })).users.map((u) => u.handle)).toEqual(['person_7']);
    expect((await users.search({ q: '%', limit: 50, offset: 0 })).users.map((u) => u.handle)).toEqual(['person_7']);
    expect((await users.search({ role: 'moderator', limit: 50, offset: 0 })).total).toBe(3);
    expect((await users.search({ q: 'nobody', limit: 25, offset: 25 })).total).toBe(0);
  });

  it('updates profile, role and status; refuses a taken handle', async () => {
    const a = await users.create({ email: 'a@x.test', handle: 'alpha', displayName: 'A', password: 'a long password' });
    await expect(users.updateProfile(a.id, { handle: 'person_1', displayName: 'A' })).rejects.toBeInstanceOf(DuplicateUserError);
    expect((await users.updateProfile(a.id, { handle: 'alpha2', displayName: 'Alpha' })).handle).toBe('alpha2');
    expect((await users.setRole(a.id, 'admin'))?.role).toBe('admin');
    expect((await users.setStatus(a.id, 'banned'))?.status).toBe('banned');
    expect(await users.checkPassword(a.id, 'wrong')).toBeNull();
    const hash = (await users.checkPassword(a.id, 'a long password'))!;
    expect(hash).toMatch(/^\$argon2id\$/);
    expect(await users.replacePasswordHash(db.pool, a.id, hash, await hashPassword('another long password'))).toBe(true);
    expect(await users.replacePasswordHash(db.pool, a.id, hash, 'never stored')).toBe(false);
    expect(await users.checkPassword(a.id, 'another long password')).not.toBeNull();
    expect(await users.verifyCredentials('a@x.test', 'another long password')).not.toBeNull();
  });
});
