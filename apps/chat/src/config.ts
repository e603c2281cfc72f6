import { positiveInt, serviceBaseSchema, z } from '@parley/config';

export const chatConfigSchema = serviceBaseSchema.extend({
  ALLOWED_ORIGINS: z.string().default('')
    .describe("Extra allowed WebSocket `Origin`s, comma-separated, e.g. the edge's `https://chat.example.com` (`PUBLIC_URL`'s origin is always allowed)"),
  REPLICA_ID: z.string().min(1).max(100).optional()
    .describe('Replica name in stats and logs (Kubernetes: the pod name); unset: host name and process id'),
  MAX_MESSAGE_BYTES: positiveInt(4096, 'a number of bytes').describe('Largest message body (UTF-8 bytes)'),
  MAX_FRAME_BYTES: positiveInt(16384, 'a number of bytes')
    .describe('Largest accepted frame: bigger ones get a `too_large` error (connection kept); above 4× (at least 64 KB) the socket closes with 1009'),
  MAX_BUFFERED_BYTES: positiveInt(1_048_576, 'a number of bytes').describe('Per-socket send buffer; a slower reader is closed with 4008'),
  SEND_RATE_PER_SEC: positiveInt(10, 'a number of messages per second').describe('Per-user send rate limit (token bucket refill per second)'),
  SEND_BURST: positiveInt(30, 'a number of messages').describe('Burst of the per-user send rate limit (token bucket size)'),
  FRAME_RATE_PER_SEC: positiveInt(20, 'a number of frames per second')
    .describe('Per-user budget over every frame type (joins, history, edits, typing, pings, sends), per replica (over it: `rate_limited` and backpressure; kept up: close 1008)'),
  FRAME_BURST: positiveInt(600, 'a number of frames')
    .describe('Burst of the per-user frame budget (above `MAX_ROOMS_PER_SOCKET`, so a client can join its whole sidebar at once)'),
  MAX_SOCKETS_PER_USER: positiveInt(20, 'a number of sockets')
    .describe('Most sockets one user may have open on one replica (more: 429 at upgrade / close 4029)'),
  MAX_ROOMS_PER_SOCKET: positiveInt(500, 'a number of rooms').describe('Most rooms one socket may have joined (more: `too_many_rooms`)'),
  HEARTBEAT_MS: positiveInt(25_000, 'a number of milliseconds')
    .describe("Ping interval (below NGINX's 60 s idle timeout); no pong by the next ping = dropped"),
  PRESENCE_TTL_MS: positiveInt(30_000, 'a number of milliseconds').describe("How long a replica's presence view lives without a refresh"),
  DRAIN_DELAY_MS: z.coerce.number({ message: 'must be a number of milliseconds' }).int().nonnegative().default(5_000)
    .describe('On SIGTERM: stay up, not ready, this long (so load balancers stop routing here) before closing sockets with 1012'),
  SHUTDOWN_TIMEOUT_MS: positiveInt(10_000, 'a number of milliseconds').describe('Then wait at most this long for sockets to close'),
  HISTORY_PAGE_SIZE: positiveInt(500, 'a positive integer').describe('Page size when replaying missed messages from Postgres'),
  RECONCILE_MS: positiveInt(2_000, 'a number of milliseconds')
    .describe('How often each replica compares its rooms with Postgres (repairs events pub/sub lost)'),
  CONTROL_POLL_MS: positiveInt(500, 'a number of milliseconds')
    .describe('How often each replica polls control events (bans, mutes, membership, edits, read state); `NOTIFY parley_control` makes it sooner'),
  REVALIDATE_MS: positiveInt(5_000, 'a number of milliseconds')
    .describe('How often each replica re-checks every connected session in Postgres (user active, same role, not revoked)'),
  DB_WRITE_CONCURRENCY: positiveInt(4, 'a positive integer')
    .describe('Group-commit lanes: transactions in flight at once, each holding one pool connection; room r always uses lane r mod this'),
  MESSAGE_BATCH_MAX: positiveInt(500, 'a positive integer').describe('Most messages stored in one group-commit transaction'),
  MAX_WRITE_QUEUE: positiveInt(20_000, 'a positive integer').describe('Sends waiting to be stored; beyond it sends get a retryable `unavailable`'),
});

export type ChatConfig = z.infer<typeof chatConfigSchema>;

export function allowedOrigins(config: ChatConfig): Set<string> {
  const extra = config.ALLOWED_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean);
  return new Set([new URL(config.PUBLIC_URL).origin, ...extra.map((o) => new URL(o).origin)]);
}
