// The events replicas exchange over the fan-out bus, as zod schemas: a payload from the bus is parsed
// (not cast), so a malformed or foreign event is dropped at the edge instead of failing deep inside the
// hub. The bus is at-most-once by nature: receivers repair seq gaps from Postgres, so a lost event
// delays a message but never loses it. Nothing that decides who may speak travels here: bans, mutes,
// membership, archive and edits are control events in Postgres (see hub/control-plane.ts).
import { z } from 'zod';

const id = z.number().int().positive();
const seq = z.number().int().nonnegative();

export const userRefSchema = z.object({ id: z.number().int(), handle: z.string(), displayName: z.string() });

export const chatMessageSchema = z.object({
  id,
  roomId: id,
  seq,
  author: userRefSchema,
  clientId: z.string(),
  body: z.string(),
  createdAt: z.string(),
  editedAt: z.string().nullable(),
  deletedAt: z.string().nullable(),
  version: seq.optional(),
  reactions: z.array(z.object({ emoji: z.string(), count: z.number().int(), userIds: z.array(z.number().int()), handles: z.array(z.string()) })).optional(),
  replyTo: z.object({ seq, author: userRefSchema.nullable(), excerpt: z.string(), deleted: z.boolean() }).optional(),
});

export const busEventSchema = z.discriminatedUnion('k', [
  /**
   * Committed messages (one writer batch), in commit order (so per room in seq order). `from` is the
   * publishing replica, which delivered them locally already (buses drop their own echo undecoded, see
   * ownEchoPrefix).
   */
  z.object({ k: z.literal('msgs'), from: z.string(), messages: z.array(chatMessageSchema) }),
  /** The room has committed messages up to `seq` (a batch too big for the transport): fetch them. */
  z.object({ k: z.literal('tip'), room: id, seq }),
  /** `from` is the typing connection (not echoed to it), `replica` the publishing replica. */
  z.object({ k: z.literal('typing'), room: id, user: userRefSchema, from: z.string(), replica: z.string().optional() }),
  /**
   * A replica's users per room: `full` lists every room (the rest of its view is dropped), otherwise
   * only the listed rooms are replaced. `seq` numbers the replica's presence announcements (absent from
   * older replicas).
   */
  z.object({ k: z.literal('presence'), replica: z.string(), rooms: z.record(z.string(), z.array(userRefSchema)), full: z.boolean(), at: z.number(), seq: seq.optional() }),
  /** A replica's presence changes per room since its previous announcement (`seq` - 1: a gap means one was lost). */
  z.object({
    k: z.literal('presence_diff'), replica: z.string(), seq,
    rooms: z.record(z.string(), z.object({ joined: z.array(userRefSchema), left: z.array(z.number().int()) })), at: z.number(),
  }),
  z.object({
    k: z.literal('replica'), replica: z.string(), connections: z.number(), rooms: z.number(), startedAt: z.string(), at: z.number(),
    draining: z.boolean(), messagesPerMinute: z.number().optional(),
  }),
  z.object({ k: z.literal('sync'), from: z.string() }),
  z.object({ k: z.literal('bye'), replica: z.string() }),
]);

export type BusEvent = z.infer<typeof busEventSchema>;
export type BusEventOf<K extends BusEvent['k']> = Extract<BusEvent, { k: K }>;

export function encodeEvent(event: BusEvent): string {
  return JSON.stringify(event);
}

/** Build a batched message event; `k` and `from` come first so ownEchoPrefix matches its encoding. */
export function messagesEvent(from: string, messages: BusEventOf<'msgs'>['messages']): BusEventOf<'msgs'> {
  return { k: 'msgs', from, messages };
}

/**
 * The start of the encoding of a 'msgs' event published by `replicaId`: a bus that sees a payload with
 * this prefix can drop it without decoding it (the publisher delivered those messages locally).
 */
export function ownEchoPrefix(replicaId: string): string {
  return `{"k":"msgs","from":${JSON.stringify(replicaId)},`;
}

/** Parse and validate a bus payload; null when it is not JSON or not a valid event. */
export function decodeEvent(payload: string): BusEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return null;
  }
  const parsed = busEventSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}
