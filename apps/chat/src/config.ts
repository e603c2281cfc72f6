import { httpUrl, positiveInt, serviceBaseSchema, z } from '@parley/config';

export const chatConfigSchema = serviceBaseSchema.extend({
  /** Extra allowed Origins, comma-separated (e.g. the edge's https://chat.example.com). */
  ALLOWED_ORIGINS: z.string().default(''),
  /** Name shown in stats and logs; Kubernetes sets it to the pod name. */
  REPLICA_ID: z.string().min(1).max(100).optional(),
  MAX_MESSAGE_BYTES: positiveInt(4096, 'a number of bytes'),
  MAX_FRAME_BYTES: positiveInt(16384, 'a number of bytes'),
  MAX_BUFFERED_BYTES: positiveInt(1_048_576, 'a number of bytes'),
  SEND_RATE_PER_SEC: positiveInt(10, 'a number of messages per second'),
  SEND_BURST: positiveInt(30, 'a number of messages'),
  /** Per-user budget over every frame type (joins, history, edits, typing, pings, sends), per replica. */
  FRAME_RATE_PER_SEC: positiveInt(20, 'a number of frames per second'),
  /** Burst of that budget: above MAX_ROOMS_PER_SOCKET, so a client can join its whole sidebar at once. */
  FRAME_BURST: positiveInt(600, 'a number of frames'),
  /** Most sockets one user may have open on one replica (more are refused: 429, or closed with 4029). */
  MAX_SOCKETS_PER_USER: positiveInt(20, 'a number of sockets'),
  /** Most rooms one socket may have joined at once (more joins get `too_many_rooms`). */
  MAX_ROOMS_PER_SOCKET: positiveInt(500, 'a number of rooms'),
  HEARTBEAT_MS: positiveInt(25_000, 'a number of milliseconds'),
  PRESENCE_TTL_MS: positiveInt(30_000, 'a number of milliseconds'),
  /** On SIGTERM: stay up (not ready) this long so load balancers stop routing here, then close sockets. */
  DRAIN_DELAY_MS: z.coerce.number({ message: 'must be a number of milliseconds' }).int().nonnegative().default(5_000),
  /** After closing sockets, wait at most this long for them to finish before exiting. */
  SHUTDOWN_TIMEOUT_MS: positiveInt(10_000, 'a number of milliseconds'),
  HISTORY_PAGE_SIZE: positiveInt(500, 'a positive integer'),
  /** How often each active room's last_seq is compared with Postgres to repair events pub/sub lost. */
  RECONCILE_MS: positiveInt(2_000, 'a number of milliseconds'),
  /** How often control events (bans, mutes, membership, edits, read state) are polled; NOTIFY makes it sooner. */
  CONTROL_POLL_MS: positiveInt(500, 'a number of milliseconds'),
  /** How often every connected session is re-checked against Postgres (user active, role, not revoked). */
  REVALIDATE_MS: positiveInt(5_000, 'a number of milliseconds'),
  /** Group commit: message-insert transactions in flight at once (each holds one pool connection). */
  DB_WRITE_CONCURRENCY: positiveInt(4, 'a positive integer'),
  /** Group commit: most messages per transaction. */
  MESSAGE_BATCH_MAX: positiveInt(500, 'a positive integer'),
  /** Most messages waiting to be written; beyond it sends are refused with `unavailable` (retryable). */
  MAX_WRITE_QUEUE: positiveInt(20_000, 'a positive integer'),
});

export type ChatConfig = z.infer<typeof chatConfigSchema>;

export function allowedOrigins(config: ChatConfig): Set<string> {
  const extra = config.ALLOWED_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean);
  return new Set([new URL(config.PUBLIC_URL).origin, ...extra.map((o) => new URL(o).origin)]);
}
