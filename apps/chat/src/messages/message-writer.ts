// Group commit for message inserts. Concurrent sends (across rooms and within a room) are queued and
// written together: one statement (= one transaction, one round trip) per batch that skips client ids
// already stored, locks the batch's rooms in id order, bumps each room's last_seq by the number of its
// new messages, and inserts them all with one multi-row INSERT. Callers are resolved only after COMMIT,
// so an ack still means "durably stored".
//
// Invariants:
// - Gap-free per-room seq in commit order: seqs come from rooms.last_seq under its row lock, which is
//   held until COMMIT, so a later transaction on the same room waits and gets the following seqs.
// - FIFO per room within one writer: a room always goes to the same lane, a lane runs one batch at a
//   time and takes its queue in order, so messages enqueued earlier get lower seqs (one connection's
//   sends keep their order).
// - Idempotency: (author, client id) is pre-checked, deduplicated within the batch and against batches in
//   flight; a race with another replica ends in a unique violation, and the batch falls back to storing
//   its messages one by one, each of which then finds the original.
// - Isolation: any failed batch is retried message by message, so one bad message fails only itself.
// - Outages: the batch's client is held with an 'error' listener (checkout), so a Postgres restart or
//   stop fails the batch, never the process. A batch that fails because the database is unavailable is
//   not retried here: every item is rejected with DatabaseUnavailableError (its sender is told
//   `unavailable` and resends the same client id, which the idempotency check makes harmless even if
//   the COMMIT happened before the connection died), and the broken client is discarded.
import { type Checkout, type Pool, type PoolClient, checkout, isConnectionError } from '@parley/db';
import { type AttachmentRef, type ChatMessage, type ReactionSummary, REPLY_EXCERPT_CHARS } from '@parley/protocol';

export interface NewMessage {
  roomId: number;
  authorId: number;
  clientId: string;
  body: string;
  /** The seq of the message (same room) this one replies to. */
  replyTo?: number | null;
  /**
   * Ids of the author's uploads to link to this message in its transaction; only ready, unsent
   * uploads of this author into this room are linked (others are ignored).
   */
  attachments?: string[] | null;
}

export type StoreResult = { message: ChatMessage; duplicate: boolean };

/**
 * The author is no longer active (banned or deactivated). Checked in the storing statement itself, so
 * a send that arrives after a ban committed is never stored, even in the moment before the ban's
 * control event closes the socket.
 */
export class AuthorInactiveError extends Error {
  constructor() {
    super('author is not active');
  }
}

export class RoomArchivedError extends Error {
  constructor() {
    super('room is archived');
  }
}

/**
 * A message of files only (blank body) none of whose attachment ids could be linked (not the author's,
 * another room's, not ready, already sent or deleted): storing it would leave an empty message.
 */
export class NoLinkableAttachmentsError extends Error {
  constructor() {
    super('none of the attachments can be linked');
  }
}

/** The writer's queue is full: the database is not keeping up. Retry later. */
export class OverloadedError extends Error {
  constructor() {
    super('message store overloaded');
  }
}

/**
 * The database is unreachable (stopped, restarting, network): the message may not be stored; the
 * sender should resend it (same client id) after a moment. An OverloadedError to callers that only know
 * that one ("not stored, retry later, nothing to log per message").
 */
export class DatabaseUnavailableError extends OverloadedError {
  constructor(readonly reason: unknown) {
    super();
    this.message = 'message store unavailable';
  }
}

/** Told about each batch's fate, to track the database's availability (see DependencyStatus). */
export interface WriterHealth {
  failed(err: unknown): void;
  succeeded(): void;
}

export interface MessageRow {
  id: number;
  room_id: number;
  seq: number;
  author_id: number;
  handle: string;
  display_name: string;
  client_msg_id: string;
  body: string;
  created_at: Date;
  edited_at: Date | null;
  deleted_at: Date | null;
  /** Replies (see REPLY_COLUMNS): absent or null when the message is not a reply. */
  reply_to_seq?: number | null;
  reply_author_id?: number | null;
  reply_handle?: string | null;
  reply_display_name?: string | null;
  reply_excerpt?: string | null;
  reply_deleted?: boolean | null;
  /** The reactions summary as JSON (see REACTIONS_JOIN), null when none. */
  reactions?: ReactionSummary[] | null;
  /** The attachments as JSON (see ATTACHMENTS_JOIN), null when none. */
  attachments?: AttachmentRef[] | null;
}

/** One attachment row (alias `a`) as the AttachmentRef JSON of the protocol. */
const ATTACHMENT_JSON = `json_build_object('id', a.id, 'name', a.name, 'size', a.size_bytes, 'contentType', a.content_type,
  'image', CASE WHEN a.image_width IS NOT NULL AND a.thumbnail_key IS NOT NULL THEN json_build_object('width', a.image_width, 'height', a.image_height) END)`;

/**
 * The live attachments of message `alias` as column `attachments` (null when none, and on deleted
 * messages), in upload order. One lateral subquery on attachments_room_idx, never a query per message.
 */
export const ATTACHMENTS_JOIN = (alias: string) => `
  LEFT JOIN LATERAL (
    SELECT json_agg(${ATTACHMENT_JSON} ORDER BY a.created_at, a.id) AS attachments
    FROM attachments a
    WHERE a.room_id = ${alias}.room_id AND a.message_seq = ${alias}.seq AND a.deleted_at IS NULL AND ${alias}.deleted_at IS NULL
  ) att ON true`;

/**
 * Links the author's attachments (\`ids\`: a uuid[]) to the message just inserted as row \`ins\`: the same
 * conditions as admin's AttachmentRepository.linkToMessage (same room, same uploader, ready, unsent).
 */
const LINK_WHERE = (ids: string, ins: string) => `
  a.id = ANY(${ids}) AND a.room_id = ${ins}.room_id AND a.uploader_id = ${ins}.author_id
  AND a.state = 'ready' AND a.message_seq IS NULL AND a.deleted_at IS NULL`;

/** The replied-to message of `m` (alias `o`, its author `ou`), as columns of the reply fields. */
export const REPLY_COLUMNS = `
  o.author_id AS reply_author_id, ou.handle AS reply_handle, ou.display_name AS reply_display_name,
  CASE WHEN o.deleted_at IS NULL THEN left(o.body, ${REPLY_EXCERPT_CHARS}) ELSE '' END AS reply_excerpt,
  (o.id IS NULL OR o.deleted_at IS NOT NULL) AS reply_deleted`;
export const REPLY_JOIN = (alias: string) => `
  LEFT JOIN messages o ON o.room_id = ${alias}.room_id AND o.seq = ${alias}.reply_to_seq
  LEFT JOIN users ou ON ou.id = o.author_id`;

export const SELECT_MESSAGE = `
  SELECT m.id, m.room_id, m.seq, m.author_id, u.handle, u.display_name, m.client_msg_id,
         CASE WHEN m.deleted_at IS NULL THEN m.body ELSE '' END AS body,
         m.created_at, m.edited_at, m.deleted_at, m.reply_to_seq, ${REPLY_COLUMNS}, att.attachments
  FROM messages m JOIN users u ON u.id = m.author_id ${REPLY_JOIN('m')} ${ATTACHMENTS_JOIN('m')}`;

/**
 * Group commit in one statement; see MessageWriter.writeBatch. $1..$6: room, author, client id, body,
 * reply-to seq (null: not a reply; kept only when that message exists in the same room), attachment
 * ids (a uuid array literal, null: none), linked in the same statement (so the same transaction).
 * $5 and $6 may be null arrays when no message of the batch has any (unnest pads them with nulls).
 *
 * New rows come back without their body (the writer has it) and without edited/deleted (null); the
 * originals of resends come back whole. Each author is read from `users` once (by primary key): the
 * "author active" check, the handle for the ack, and `author_role`, written here so the trigger of
 * migration 0008 (now only for inserts that leave it null, 0011) does not look the author up again.
 */
const BATCH_INSERT = `
  WITH req AS (
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[])
      WITH ORDINALITY AS r(room_id, author_id, client_msg_id, body, reply_to_seq, attachment_ids, ord)
  ),
  existing AS (
    SELECT m.id, m.room_id, m.seq, m.author_id, m.client_msg_id,
           CASE WHEN m.deleted_at IS NULL THEN m.body ELSE '' END AS body,
           m.created_at, m.edited_at, m.deleted_at, m.reply_to_seq
    FROM req JOIN messages m ON m.author_id = req.author_id AND m.client_msg_id = req.client_msg_id
  ),
  authors AS (
    SELECT u.id, u.role, u.handle, u.display_name FROM users u WHERE u.id = ANY($2::bigint[]) AND u.status = 'active'
  ),
  fresh AS (
    SELECT req.*, a.role, row_number() OVER (PARTITION BY req.room_id ORDER BY req.ord) AS idx
    FROM req JOIN authors a ON a.id = req.author_id
    WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.author_id = req.author_id AND e.client_msg_id = req.client_msg_id)
      -- A message of files only (body '', see bodyOf) needs at least one of them linkable.
      AND (req.body <> '' OR req.attachment_ids IS NULL OR EXISTS (SELECT 1 FROM attachments a WHERE ${LINK_WHERE('req.attachment_ids::uuid[]', 'req')}))
  ),
  counts AS (SELECT room_id, count(*)::int AS k FROM fresh GROUP BY room_id),
  locked AS (
    SELECT r.id FROM rooms r WHERE r.id IN (SELECT room_id FROM counts) ORDER BY r.id FOR NO KEY UPDATE
  ),
  seqs AS (
    UPDATE rooms r SET last_seq = r.last_seq + c.k
    FROM counts c, locked l
    WHERE r.id = c.room_id AND l.id = r.id AND r.archived_at IS NULL
    RETURNING r.id, r.last_seq - c.k AS base
  ),
  ins AS (
    INSERT INTO messages (room_id, seq, author_id, client_msg_id, body, reply_to_seq, author_role)
    SELECT f.room_id, s.base + f.idx, f.author_id, f.client_msg_id, f.body,
           -- CASE evaluates in order: a plain message (the hot path) never probes for an original.
           CASE WHEN f.reply_to_seq IS NULL THEN NULL
                WHEN EXISTS (SELECT 1 FROM messages o WHERE o.room_id = f.room_id AND o.seq = f.reply_to_seq) THEN f.reply_to_seq END,
           f.role
    FROM fresh f JOIN seqs s ON s.id = f.room_id
    ORDER BY f.room_id, f.idx
    RETURNING id, room_id, seq, author_id, client_msg_id, created_at, reply_to_seq
  ),
  linked AS (
    -- Only messages that carry ids join here. The uncorrelated test is evaluated once, before the join:
    -- a batch without attachments (the usual one) skips it, instead of comparing every new row with every
    -- request (a nested loop over two CTEs: quadratic in the batch size).
    UPDATE attachments a SET message_seq = i.seq
    FROM ins i JOIN fresh f ON f.author_id = i.author_id AND f.client_msg_id = i.client_msg_id AND f.attachment_ids IS NOT NULL
    WHERE (SELECT bool_or(attachment_ids IS NOT NULL) FROM req) AND ${LINK_WHERE('f.attachment_ids::uuid[]', 'i')}
    RETURNING a.*
  ),
  found AS (
    -- New rows take the author's names from \`authors\` (already read); resends from users.
    SELECT ins.id, ins.room_id, ins.seq, ins.author_id, ins.client_msg_id, NULL::text AS body, ins.created_at,
           NULL::timestamptz AS edited_at, NULL::timestamptz AS deleted_at, ins.reply_to_seq, false AS dup,
           a.handle, a.display_name
    FROM ins JOIN authors a ON a.id = ins.author_id
    UNION ALL
    SELECT existing.*, true AS dup, u.handle, u.display_name FROM existing JOIN users u ON u.id = existing.author_id
  )
  SELECT found.*, ${REPLY_COLUMNS},
         -- A subquery per row only where there can be attachments: resends (the stored links) and, when
         -- the batch has attachments at all, new messages (what this statement linked: its own UPDATE is
         -- not visible to it). The test on req is evaluated once per statement.
         CASE WHEN found.dup OR (SELECT bool_or(attachment_ids IS NOT NULL) FROM req) THEN (
           SELECT json_agg(${ATTACHMENT_JSON} ORDER BY a.created_at, a.id)
           FROM (
             SELECT * FROM linked l WHERE NOT found.dup AND l.room_id = found.room_id AND l.message_seq = found.seq
             UNION ALL
             SELECT * FROM attachments s WHERE found.dup AND s.room_id = found.room_id AND s.message_seq = found.seq AND s.deleted_at IS NULL AND found.deleted_at IS NULL
           ) a
         ) END AS attachments
  FROM found ${REPLY_JOIN('found')}`;

export function toChatMessage(row: MessageRow): ChatMessage {
  const message: ChatMessage = {
    id: Number(row.id),
    roomId: Number(row.room_id),
    seq: Number(row.seq),
    author: { id: Number(row.author_id), handle: row.handle, displayName: row.display_name },
    clientId: row.client_msg_id,
    body: row.body,
    createdAt: row.created_at.toISOString(),
    editedAt: row.edited_at?.toISOString() ?? null,
    deletedAt: row.deleted_at?.toISOString() ?? null,
  };
  if (row.reply_to_seq !== null && row.reply_to_seq !== undefined) {
    message.replyTo = {
      seq: Number(row.reply_to_seq),
      author: row.reply_author_id == null ? null : { id: Number(row.reply_author_id), handle: row.reply_handle ?? '', displayName: row.reply_display_name ?? '' },
      excerpt: row.reply_excerpt ?? '',
      deleted: row.reply_deleted !== false,
    };
  }
  if (row.reactions?.length) message.reactions = row.reactions;
  if (row.attachments?.length) message.attachments = row.attachments.map(toAttachmentRef);
  return message;
}

/** JSON numbers from Postgres bigints arrive as numbers; an absent image stays absent. */
function toAttachmentRef(a: AttachmentRef & { image?: AttachmentRef['image'] | null }): AttachmentRef {
  const ref: AttachmentRef = { id: a.id, name: a.name, size: Number(a.size), contentType: a.contentType };
  if (a.image) ref.image = { width: a.image.width, height: a.image.height };
  return ref;
}

/** Files alone are a message; its blank body is stored as ''. */
const isFilesOnly = (m: NewMessage): boolean => !!m.attachments?.length && m.body.trim() === '';
const bodyOf = (m: NewMessage): string => (isFilesOnly(m) ? '' : m.body);

/** A uuid[] literal for the batch's text[] parameter (ids are uuids: the protocol schema checked them). */
const idsLiteral = (ids: string[] | null | undefined): string | null => (ids?.length ? `{${ids.join(',')}}` : null);

export interface WriterOptions {
  /** Most messages in one transaction. */
  maxBatch?: number;
  /** Lanes: batches (transactions) in flight at once, each on one pool connection; room r uses lane r mod concurrency. */
  concurrency?: number;
  /** Most messages waiting; beyond it store() fails fast with OverloadedError. */
  maxQueue?: number;
  /** Told when a batch fails because the database is unavailable, and when one succeeds. */
  health?: WriterHealth;
  /** Called after each committed batch: its size and its duration (checkout to COMMIT), for metrics. */
  onBatch?: (messages: number, seconds: number) => void;
}

interface Item {
  msg: NewMessage;
  key: string;
  promise: Promise<StoreResult>;
  resolve: (r: StoreResult) => void;
  reject: (err: unknown) => void;
}

const keyOf = (authorId: number, clientId: string) => `${authorId}:${clientId}`;
const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';

/** One lane of the writer: the queue of its rooms, and whether its transaction is running. */
interface Lane {
  queue: Item[];
  /** A transaction is running, or about to start (see pump). */
  running: boolean;
}

export class MessageWriter {
  /** Room r is written by lane r mod lanes.length, one transaction at a time (see pump). */
  private readonly lanes: Lane[];
  private waiting = 0;
  /** Items not yet settled, by key: a second send of a key in flight gets the first one's result. */
  private readonly inflightKeys = new Map<string, Item>();
  private running = 0;
  private readonly idleWaiters: Array<() => void> = [];
  readonly maxBatch: number;
  readonly concurrency: number;
  readonly maxQueue: number;
  private readonly health: WriterHealth | undefined;
  private readonly onBatch: WriterOptions['onBatch'];
  /** Counters: transactions committed and messages written by batches (for stats and tests). */
  readonly stats = { batches: 0, batchedMessages: 0, fallbacks: 0, largestBatch: 0, unavailable: 0 };

  constructor(private readonly pool: Pool, opts: WriterOptions = {}) {
    this.maxBatch = opts.maxBatch ?? 500;
    this.concurrency = opts.concurrency ?? 4;
    this.maxQueue = opts.maxQueue ?? 20_000;
    this.health = opts.health;
    this.onBatch = opts.onBatch;
    this.lanes = Array.from({ length: this.concurrency }, () => ({ queue: [], running: false }));
  }

  /**
   * Store one message; resolves after COMMIT with its seq, or with the original (duplicate: true) if
   * this author already used this client id. The message is queued synchronously, so calls made in some
   * order for one room get seqs in that order.
   */
  store(msg: NewMessage): Promise<StoreResult> {
    const key = keyOf(msg.authorId, msg.clientId);
    const inflight = this.inflightKeys.get(key);
    if (inflight) return inflight.promise.then((r) => ({ message: r.message, duplicate: true }));
    if (this.waiting >= this.maxQueue) return Promise.reject(new OverloadedError());
    let resolve!: Item['resolve'];
    let reject!: Item['reject'];
    const promise = new Promise<StoreResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const item: Item = { msg, key, promise, resolve, reject };
    this.inflightKeys.set(key, item);
    const lane = this.lanes[msg.roomId % this.lanes.length]!;
    lane.queue.push(item);
    this.waiting++;
    if (!lane.running) {
      // An idle lane starts after this turn of the event loop, with every send that arrived in it: the
      // senders of a closed loop answer the last batch's acks over a few ms, and starting on the first
      // of them alone would hold the lane for a one-message transaction.
      lane.running = true;
      setImmediate(() => {
        lane.running = false;
        this.pump(lane);
      });
    }
    return promise;
  }

  queued(): number {
    return this.waiting;
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.waiting === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Start the lane's next transaction unless one is running: it takes everything the lane has queued
   * (up to maxBatch). While a transaction runs, its lane's sends pile up behind it, so under load each
   * transaction carries what arrived during the previous one, instead of a freed connection taking the
   * one message that just came in. A room is in one lane, so it is in at most one running batch and
   * its messages are taken in queue order (FIFO per room, by construction; no rescans of the queue).
   */
  private pump(lane: Lane): void {
    if (lane.running || !lane.queue.length) return;
    let batch: Item[];
    if (lane.queue.length <= this.maxBatch) {
      batch = lane.queue;
      lane.queue = [];
    } else {
      batch = lane.queue.splice(0, this.maxBatch);
    }
    this.waiting -= batch.length;
    lane.running = true;
    this.running++;
    void this.runBatch(batch).finally(() => {
      lane.running = false;
      this.running--;
      this.pump(lane);
      if (this.waiting === 0 && this.running === 0) for (const w of this.idleWaiters.splice(0)) w();
    });
  }

  private async runBatch(batch: Item[]): Promise<void> {
    const started = process.hrtime.bigint();
    let held: Checkout;
    try {
      held = await checkout(this.pool);
    } catch (err) {
      this.rejectAll(batch, err);
      return;
    }
    const { client } = held;
    let failure: unknown;
    try {
      await this.writeBatch(client, batch);
      this.health?.succeeded();
      this.onBatch?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9);
    } catch (err) {
      failure = err;
    }
    try {
      if (failure !== undefined && !held.broken && !isConnectionError(failure)) {
        // A statement failed on a live connection. Retry one by one, in order: isolates a bad message
        // and resolves unique-violation races. (Items already settled by writeBatch ignore the second settle.)
        await client.query('ROLLBACK');
        this.stats.fallbacks++;
        for (const item of batch) {
          try {
            this.resolveItem(item, await this.storeOne(client, item.msg));
          } catch (err) {
            if (held.broken || isConnectionError(err)) throw err;
            this.rejectItem(item, err);
          }
        }
      } else if (failure !== undefined) {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what the batch threw, unchanged
        throw failure;
      }
    } catch (err) {
      // The connection is gone (or the database is going away): nothing to retry on.
      failure = err;
      this.rejectAll(batch, err, held.broken !== null);
    } finally {
      held.release(failure);
    }
  }

  /** Settle an item (a second settle changes nothing); the key is no longer in flight. */
  private resolveItem(item: Item, result: StoreResult): void {
    if (this.inflightKeys.get(item.key) === item) this.inflightKeys.delete(item.key);
    item.resolve(result);
  }

  private rejectItem(item: Item, err: unknown): void {
    if (this.inflightKeys.get(item.key) === item) this.inflightKeys.delete(item.key);
    item.reject(err);
  }

  /** Settle every item still pending after a failure; an outage becomes DatabaseUnavailableError. */
  private rejectAll(batch: Item[], err: unknown, connectionBroke = false): void {
    const unavailable = connectionBroke || isConnectionError(err);
    if (unavailable) {
      this.stats.unavailable++;
      this.health?.failed(err);
    }
    for (const item of batch) this.rejectItem(item, unavailable ? new DatabaseUnavailableError(err) : err);
  }

  /**
   * The whole batch in ONE statement (so one round trip and one implicit transaction; the result arrives
   * only after COMMIT): find client ids already stored, number the new messages per room in queue order,
   * lock the rooms in id order (no deadlock between concurrent batches or replicas), take k seqs per
   * room from last_seq, insert everything, and return the new rows plus the originals of resends.
   */
  private async writeBatch(client: PoolClient, batch: Item[]): Promise<void> {
    // Within the batch the first item of a key is stored; later ones get its result (the in-flight map
    // already prevents that, but a key can reappear after a failure).
    const toStore: Item[] = [];
    const firstOfKey = new Map<string, Item>();
    const followers: Array<[Item, Item]> = [];
    for (const item of batch) {
      const first = firstOfKey.get(item.key);
      if (first) {
        followers.push([item, first]);
        continue;
      }
      firstOfKey.set(item.key, item);
      toStore.push(item);
    }
    // A named (prepared) statement: parsed and planned once per connection, not once per batch.
    const { rows } = await client.query<Omit<MessageRow, 'body'> & { body: string | null; dup: boolean }>({
      name: 'parley_batch_insert_v6',
      text: BATCH_INSERT,
      values: [
        toStore.map((i) => i.msg.roomId),
        toStore.map((i) => i.msg.authorId),
        toStore.map((i) => i.msg.clientId),
        toStore.map((i) => bodyOf(i.msg)),
        // Most batches have no replies and no attachments: a null array (unnest pads it with nulls).
        toStore.some((i) => i.msg.replyTo != null) ? toStore.map((i) => i.msg.replyTo ?? null) : null,
        toStore.some((i) => i.msg.attachments?.length) ? toStore.map((i) => idsLiteral(i.msg.attachments)) : null,
      ],
    });
    let inserted = 0;
    const stored = new Map<string, (typeof rows)[number]>();
    for (const row of rows) {
      stored.set(keyOf(Number(row.author_id), row.client_msg_id), row);
      if (!row.dup) inserted++;
    }
    this.stats.batches++;
    this.stats.batchedMessages += inserted;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, inserted);
    const results = new Map<string, StoreResult>();
    for (const item of toStore) {
      const row = stored.get(item.key);
      // A new row's body is the one just sent (the statement does not send it back).
      if (!row) continue;
      row.body ??= bodyOf(item.msg);
      results.set(item.key, { message: toChatMessage(row as MessageRow), duplicate: row.dup });
    }
    // Resolve in queue order (= seq order per room). A missing row: the author is no longer active, the
    // room is archived or gone, or a message of files only had none linkable (asked only in that rare
    // case, after COMMIT).
    const missing = toStore.filter((item) => !results.has(item.key));
    const inactive = missing.length ? await this.inactiveAuthors(client, missing.map((i) => i.msg.authorId)) : new Set<number>();
    const filesOnly = missing.filter((i) => isFilesOnly(i.msg));
    const open = filesOnly.length ? await this.openRooms(client, filesOnly.map((i) => i.msg.roomId)) : new Set<number>();
    const notStored = (item: Item) =>
      inactive.has(item.msg.authorId) ? new AuthorInactiveError()
      : isFilesOnly(item.msg) && open.has(item.msg.roomId) ? new NoLinkableAttachmentsError()
      : new RoomArchivedError();
    for (const item of toStore) {
      const r = results.get(item.key);
      if (r) this.resolveItem(item, r);
      else this.rejectItem(item, notStored(item));
    }
    for (const [item, first] of followers) {
      const r = results.get(first.key);
      if (r) this.resolveItem(item, { message: r.message, duplicate: true });
      else this.rejectItem(item, notStored(first));
    }
  }

  private async inactiveAuthors(client: PoolClient, authorIds: number[]): Promise<Set<number>> {
    const { rows } = await client.query<{ id: number }>("SELECT id FROM users WHERE id = ANY($1::bigint[]) AND status <> 'active'", [authorIds]);
    return new Set(rows.map((r) => Number(r.id)));
  }

  private async openRooms(client: PoolClient, roomIds: number[]): Promise<Set<number>> {
    const { rows } = await client.query<{ id: number }>('SELECT id FROM rooms WHERE id = ANY($1::bigint[]) AND archived_at IS NULL', [roomIds]);
    return new Set(rows.map((r) => Number(r.id)));
  }

  /** One message in its own transaction (the fallback path). */
  async storeOne(client: PoolClient, msg: NewMessage): Promise<StoreResult> {
    const find = async () => {
      const { rows } = await client.query<MessageRow>(`${SELECT_MESSAGE} WHERE m.author_id = $1 AND m.client_msg_id = $2`, [msg.authorId, msg.clientId]);
      return rows[0] ? toChatMessage(rows[0]) : null;
    };
    const existing = await find();
    if (existing) return { message: existing, duplicate: true };
    try {
      await client.query('BEGIN');
      const seqRes = await client.query<{ last_seq: string | number }>(
        'UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 AND archived_at IS NULL RETURNING last_seq',
        [msg.roomId],
      );
      const seq = seqRes.rows[0]?.last_seq;
      if (seq === undefined) throw new RoomArchivedError();
      // Under the room's row lock, after any ban that committed before it: a banned author stores nothing.
      const active = await client.query("SELECT 1 FROM users WHERE id = $1 AND status = 'active'", [msg.authorId]);
      if (!active.rowCount) throw new AuthorInactiveError();
      await client.query<MessageRow>(
        `INSERT INTO messages (room_id, seq, author_id, client_msg_id, body, reply_to_seq)
         VALUES ($1, $2, $3, $4, $5,
                 CASE WHEN EXISTS (SELECT 1 FROM messages o WHERE o.room_id = $1 AND o.seq = $6::bigint) THEN $6::bigint END)`,
        [msg.roomId, seq, msg.authorId, msg.clientId, bodyOf(msg), msg.replyTo ?? null],
      );
      const ids = idsLiteral(msg.attachments);
      if (ids) {
        const linked = await client.query(
          `UPDATE attachments a SET message_seq = i.seq FROM (SELECT $2::bigint AS room_id, $3::bigint AS seq, $4::bigint AS author_id) i
           WHERE ${LINK_WHERE('$1::uuid[]', 'i')}`,
          [ids, msg.roomId, seq, msg.authorId],
        );
        if (!linked.rowCount && isFilesOnly(msg)) throw new NoLinkableAttachmentsError(); // rolled back below: the seq is not used
      }
      const { rows } = await client.query<MessageRow>(`${SELECT_MESSAGE} WHERE m.room_id = $1 AND m.seq = $2`, [msg.roomId, seq]);
      await client.query('COMMIT');
      return { message: toChatMessage(rows[0]!), duplicate: false };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (isUniqueViolation(err)) {
        // A concurrent send of the same client id won the race (possibly on another replica).
        const original = await find();
        if (original) return { message: original, duplicate: true };
      }
      throw err;
    }
  }
}
