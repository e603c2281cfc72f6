// ModerationService: a moderator delete marks the message deleted by the moderator with the id of its
// message_updated event as version; refusals and no-ops (scope, deleting twice, muting oneself) write
// nothing. Real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import { actor, person, say, servicesFor, snapshot, type TestServices } from '../control/service-test-kit.ts';

let db: TestDatabase;
let s: TestServices;
beforeAll(async () => {
  db = await createTestDatabase('admin_moderation_service');
  s = servicesFor(db.pool);
});
afterAll(async () => db?.drop());

describe('ModerationService', () => {
  it('deletes once, with the event id as the message version; refusals and repeats write nothing', async () => {
    const [mod, owner] = [await person(s, 'moderator'), await person(s)];
    const room = await s.rooms.create({ name: 'Floor', topic: '', kind: 'public', createdBy: owner.id });
    const secret = await s.rooms.create({ name: 'Back room', topic: '', kind: 'private', createdBy: owner.id });
    const seq = await say(db.pool, room.id, owner.id, 'rude');
    const secretSeq = await say(db.pool, secret.id, owner.id, 'private words');

    expect(await s.moderation.deleteMessage(actor(mod), mod, room.id, seq)).toBe(true);
    const { rows } = await db.pool.query(
      `SELECT m.deleted_by, m.version, e.kind, e.user_id FROM messages m JOIN control_events e ON e.id = m.version WHERE m.room_id = $1 AND m.seq = $2`,
      [room.id, seq],
    );
    expect(rows).toEqual([{ deleted_by: mod.id, version: expect.any(Number) as unknown, kind: 'message_updated', user_id: mod.id }]);

    const before = await snapshot(db.pool);
    expect(await s.moderation.deleteMessage(actor(mod), mod, room.id, seq)).toBe(false);
    expect(await s.moderation.deleteMessage(actor(mod), mod, room.id, 999)).toBe(false);
    await expect(s.moderation.deleteMessage(actor(mod), mod, secret.id, secretSeq)).rejects.toMatchObject({ statusCode: 404 });
    await expect(s.moderation.setMute(actor(mod), mod, room, (await s.users.findById(mod.id))!, 5)).rejects.toMatchObject({ statusCode: 400 });
    expect(await snapshot(db.pool)).toEqual(before);
  });
});
