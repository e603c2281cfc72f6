// Every admin state change commits its change, its audit entry and its control events in ONE
// transaction: an INSERT forced to fail in the middle (into audit_log, after the change; or into
// control_events, after the change and its audit entry) leaves no trace of any of them, and sessions
// are kept; without the failure all three are there. Real Postgres; sessions in Postgres (embedded mode).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@parley/devtools';
import type { ControlEventKind } from '@parley/db';
import { actor, eventsSince, failInsertsInto, lastControlEventId, person, say, servicesFor, snapshot, type TestServices } from './service-test-kit.ts';

let db: TestDatabase;
let s: TestServices;

beforeAll(async () => {
  db = await createTestDatabase('admin_atomic');
  s = servicesFor(db.pool);
});
afterAll(async () => db?.drop());

const session = async (userId: number) => (await s.sessions.create(userId, { ip: '127.0.0.1', userAgent: 'test' })).record.id;

interface Case {
  /** Builds the fixtures; returns the change to attempt. */
  setup(): Promise<() => Promise<unknown>>;
  audit: string | null;
  events: ControlEventKind[];
  /** Sessions that must be gone after success (and kept after a failure). */
  endsSessions?: boolean;
}

const cases: Record<string, Case> = {
  ban: {
    audit: 'user.banned', events: ['user_status', 'session_revoked', 'session_revoked'], endsSessions: true,
    async setup() {
      const [admin, eve] = [await person(s, 'admin'), await person(s)];
      await session(eve.id);
      await session(eve.id);
      return () => s.userAdmin.setStatus(actor(admin), eve.id, 'banned');
    },
  },
  deactivate: {
    audit: 'user.deactivated', events: ['user_status', 'session_revoked'], endsSessions: true,
    async setup() {
      const [admin, eve] = [await person(s, 'admin'), await person(s)];
      await session(eve.id);
      return () => s.userAdmin.setStatus(actor(admin), eve.id, 'deactivated');
    },
  },
  reactivate: {
    audit: 'user.reactivated', events: ['user_status'],
    async setup() {
      const [admin, eve] = [await person(s, 'admin'), await person(s)];
      await s.pool.query(`UPDATE users SET status = 'banned' WHERE id = $1`, [eve.id]);
      return () => s.userAdmin.setStatus(actor(admin), eve.id, 'active');
    },
  },
  'role change (demotion ends sessions)': {
    audit: 'user.role_changed', events: ['user_role', 'session_revoked'], endsSessions: true,
    async setup() {
      const [admin, mod] = [await person(s, 'admin'), await person(s, 'moderator')];
      await session(mod.id);
      return () => s.userAdmin.changeRole(actor(admin), mod.id, 'user');
    },
  },
  'role change (promotion)': {
    audit: 'user.role_changed', events: ['user_role'],
    async setup() {
      const [admin, ann] = [await person(s, 'admin'), await person(s)];
      await session(ann.id);
      return () => s.userAdmin.changeRole(actor(admin), ann.id, 'moderator');
    },
  },
  'sign out everywhere': {
    audit: 'user.sessions_revoked', events: ['session_revoked', 'session_revoked'], endsSessions: true,
    async setup() {
      const [admin, ann] = [await person(s, 'admin'), await person(s)];
      await session(ann.id);
      await session(ann.id);
      return () => s.userAdmin.signOutEverywhere(actor(admin), ann.id);
    },
  },
  logout: {
    audit: 'user.logged_out', events: ['session_revoked'], endsSessions: true,
    async setup() {
      const ann = await person(s);
      const id = await session(ann.id);
      return () => s.account.logout(actor(ann), { id, userId: ann.id });
    },
  },
  'revoke own session': {
    audit: 'user.session_revoked', events: ['session_revoked'], endsSessions: true,
    async setup() {
      const ann = await person(s);
      const id = await session(ann.id);
      return () => s.account.revokeSession(actor(ann), ann.id, id);
    },
  },
  'password change (ends the other sessions)': {
    audit: 'user.password_changed', events: ['session_revoked', 'session_revoked'],
    async setup() {
      const ann = await person(s, 'user', 'the old password 1');
      const current = await session(ann.id);
      await session(ann.id);
      await session(ann.id);
      return async () => {
        const res = await s.account.changePassword(actor(ann), ann.id, current, 'the old password 1', 'the new password 2');
        expect(res.changed).toBe(true);
      };
    },
  },
  mute: {
    audit: 'user.muted', events: ['mute'],
    async setup() {
      const [mod, owner, ann] = [await person(s, 'moderator'), await person(s), await person(s)];
      const room = await s.rooms.create({ name: `Mute ${ann.handle}`, topic: '', kind: 'public', createdBy: owner.id });
      await s.rooms.addMember(room.id, ann.id);
      return () => s.moderation.setMute(actor(mod), mod, room, ann, 15);
    },
  },
  unmute: {
    audit: 'user.unmuted', events: ['mute'],
    async setup() {
      const [mod, owner, ann] = [await person(s, 'moderator'), await person(s), await person(s)];
      const room = await s.rooms.create({ name: `Unmute ${ann.handle}`, topic: '', kind: 'public', createdBy: owner.id });
      await s.rooms.setMutedUntil(room.id, ann.id, new Date(Date.now() + 60_000));
      return () => s.moderation.setMute(actor(mod), mod, room, ann, null);
    },
  },
  'member add': {
    audit: 'room.member_added', events: ['member_added'],
    async setup() {
      const [admin, owner, ann] = [await person(s, 'admin'), await person(s), await person(s)];
      const room = await s.rooms.create({ name: `Add ${ann.handle}`, topic: '', kind: 'private', createdBy: owner.id });
      return () => s.roomService.addMember(actor(admin), room, ann, 'admin');
    },
  },
  'member remove': {
    audit: 'room.member_removed', events: ['member_removed'],
    async setup() {
      const [admin, owner, ann] = [await person(s, 'admin'), await person(s), await person(s)];
      const room = await s.rooms.create({ name: `Remove ${ann.handle}`, topic: '', kind: 'private', createdBy: owner.id });
      await s.rooms.addMember(room.id, ann.id);
      return () => s.roomService.removeMember(actor(admin), room, ann);
    },
  },
  'room create': {
    audit: 'room.created', events: ['member_added'],
    async setup() {
      const ann = await person(s);
      return () => s.roomService.create(actor(ann), { name: `Created by ${ann.handle}`, topic: 't', kind: 'private', createdBy: ann.id });
    },
  },
  'room archive': {
    audit: 'room.archived', events: ['room_archived'],
    async setup() {
      const [admin, owner] = [await person(s, 'admin'), await person(s)];
      const room = await s.rooms.create({ name: `Archive ${owner.handle}`, topic: '', kind: 'public', createdBy: owner.id });
      return () => s.roomService.setArchived(actor(admin), room, true);
    },
  },
  'room unarchive': {
    audit: 'room.unarchived', events: ['room_archived'],
    async setup() {
      const [admin, owner] = [await person(s, 'admin'), await person(s)];
      const room = await s.rooms.create({ name: `Unarchive ${owner.handle}`, topic: '', kind: 'public', createdBy: owner.id });
      await s.rooms.setArchived(room.id, true);
      return () => s.roomService.setArchived(actor(admin), room, false);
    },
  },
  'room rename': {
    audit: 'room.updated', events: ['room_updated'],
    async setup() {
      const [admin, owner] = [await person(s, 'admin'), await person(s)];
      const room = await s.rooms.create({ name: `Rename ${owner.handle}`, topic: '', kind: 'public', createdBy: owner.id });
      return () => s.roomService.rename(actor(admin), room, { name: `Renamed ${owner.handle}`, topic: 'new topic' });
    },
  },
  'direct conversation (both people get member_added)': {
    audit: 'room.direct_opened', events: ['member_added', 'member_added'],
    async setup() {
      const [ann, bob] = [await person(s), await person(s)];
      return () => s.roomService.openDirect(actor(ann), ann, bob);
    },
  },
  'moderator message delete': {
    audit: 'message.deleted', events: ['message_updated'],
    async setup() {
      const [mod, owner] = [await person(s, 'moderator'), await person(s)];
      const room = await s.rooms.create({ name: `Delete ${owner.handle}`, topic: '', kind: 'public', createdBy: owner.id });
      const seq = await say(s.pool, room.id, owner.id, 'rude words');
      return async () => expect(await s.moderation.deleteMessage(actor(mod), mod, room.id, seq)).toBe(true);
    },
  },
};

describe('each state change commits with its audit entry and control events, or not at all', () => {
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      const attempt = await c.setup();
      for (const table of ['audit_log', 'control_events'] as const) {
        const before = await snapshot(s.pool);
        const restore = await failInsertsInto(s.pool, table);
        try {
          await expect(attempt(), `failing in ${table}`).rejects.toThrow(/forced failure/);
        } finally {
          await restore();
        }
        expect(await snapshot(s.pool), `nothing changed when ${table} failed`).toEqual(before);
      }

      const before = await snapshot(s.pool);
      const lastId = await lastControlEventId(s.pool);
      await attempt();
      const after = await snapshot(s.pool);
      const events = await eventsSince(s.pool, lastId);
      expect(events.map((e) => e.kind)).toEqual(c.events);
      expect(events.map((e) => e.id)).toEqual(c.events.map((_, i) => lastId + i + 1));
      expect(after.audit_log!.slice(before.audit_log!.length).map((r) => (r as { action: string }).action)).toEqual(c.audit ? [c.audit] : []);
      const changed = Object.keys(after).filter((t) => !['audit_log', 'control_events', 'control_event_counter'].includes(t) && JSON.stringify(after[t]) !== JSON.stringify(before[t]));
      expect(changed.length, 'the change itself happened').toBeGreaterThan(0);
      // Every revoked session is gone from the store, and the revoked ones are exactly those.
      const revoked = events.filter((e) => e.kind === 'session_revoked').map((e) => e.sessionId);
      const remaining = new Set((after.sessions as { id: string }[]).map((r) => r.id));
      for (const id of revoked) expect(remaining.has(id!), `session ${id} ended`).toBe(false);
      if (c.endsSessions) expect(revoked.length).toBeGreaterThan(0);
    });
  }
});
