// RoomService's no-op and refusal paths write nothing (no audit entry, no control event), and a public
// join announces the new membership once. Real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import { actor, lastControlEventId, person, servicesFor, snapshot, type TestServices } from '../control/service-test-kit.ts';
import { DuplicateRoomError } from './room-repository.ts';

let db: TestDatabase;
let s: TestServices;
beforeAll(async () => {
  db = await createTestDatabase('admin_room_service');
  s = servicesFor(db.pool);
});
afterAll(async () => db?.drop());

describe('RoomService', () => {
  it('a public join is announced once; archived and private rooms give no membership', async () => {
    const [owner, ann] = [await person(s), await person(s)];
    const open = await s.rooms.create({ name: 'Open', topic: '', kind: 'public', createdBy: owner.id });
    const before = await lastControlEventId(db.pool);
    await s.roomService.join(ann.id, open);
    await s.roomService.join(ann.id, open);
    const { rows } = await db.pool.query('SELECT kind, user_id, room_id FROM control_events WHERE id > $1', [before]);
    expect(rows).toEqual([{ kind: 'member_added', user_id: ann.id, room_id: open.id }]);

    const old = await s.rooms.create({ name: 'Old', topic: '', kind: 'public', createdBy: owner.id });
    await s.rooms.setArchived(old.id, true);
    await s.roomService.join(ann.id, (await s.rooms.findById(old.id))!);
    expect((await s.rooms.findVisible(old.id, ann.id))?.isMember).toBe(false);
    const secret = await s.rooms.create({ name: 'Secret', topic: '', kind: 'private', createdBy: owner.id });
    await expect(s.roomService.join(ann.id, secret)).rejects.toMatchObject({ statusCode: 404 });
    expect(await s.rooms.findVisible(secret.id, ann.id)).toBeNull();
  });

  it('no-ops and refusals leave no trace', async () => {
    const [admin, owner, ann, bob] = [await person(s, 'admin'), await person(s), await person(s), await person(s)];
    const room = await s.rooms.create({ name: 'Quiet', topic: '', kind: 'private', createdBy: owner.id });
    await s.rooms.create({ name: 'Taken', topic: '', kind: 'public', createdBy: owner.id });
    const dm = await s.roomService.openDirect(actor(ann), ann, bob);
    const before = await snapshot(db.pool);

    expect(await s.roomService.addMember(actor(admin), room, owner, 'admin')).toBe(false);
    expect(await s.roomService.removeMember(actor(admin), room, ann)).toBe(false);
    expect(await s.roomService.openDirect(actor(bob), bob, ann)).toBe(dm);
    await expect(s.roomService.rename(actor(admin), room, { name: 'taken', topic: '' })).rejects.toBeInstanceOf(DuplicateRoomError);
    await expect(s.roomService.create(actor(ann), { name: 'TAKEN', topic: '', kind: 'public', createdBy: ann.id })).rejects.toBeInstanceOf(DuplicateRoomError);
    await expect(s.roomService.openDirect(actor(ann), ann, ann)).rejects.toMatchObject({ statusCode: 400 });

    expect(await snapshot(db.pool)).toEqual(before);
  });
});
