// What the control plane reads from Postgres: the events after a cursor, the latest event id, and the
// members of rooms (who is told of a room's change).
import { type ControlEvent, type Pool, controlEventsAfter, lastControlEventId } from '@parley/db';

export interface ControlStore {
  eventsAfter(cursor: number, limit: number): Promise<ControlEvent[]>;
  lastId(): Promise<number>;
  /** Member user ids of each room. */
  membersOf(roomIds: number[]): Promise<Map<number, number[]>>;
}

export class PgControlStore implements ControlStore {
  constructor(private readonly pool: Pool) {}

  eventsAfter(cursor: number, limit: number): Promise<ControlEvent[]> {
    return controlEventsAfter(this.pool, cursor, limit);
  }

  lastId(): Promise<number> {
    return lastControlEventId(this.pool);
  }

  async membersOf(roomIds: number[]): Promise<Map<number, number[]>> {
    const members = new Map<number, number[]>(roomIds.map((id) => [id, []]));
    if (!roomIds.length) return members;
    const { rows } = await this.pool.query<{ room_id: number; user_id: number }>(
      'SELECT room_id, user_id FROM room_members WHERE room_id = ANY($1::bigint[])',
      [roomIds],
    );
    for (const r of rows) members.get(Number(r.room_id))?.push(Number(r.user_id));
    return members;
  }
}
