// Every chat metric in one place, typed, handed to the modules that record them (server, bus, writer,
// hub). Naming: counters end in _total, durations are _seconds histograms; labels are bounded enums
// (frame type, outcome, error code, path, HTTP route template): never a user, room, connection or request id.
// docs/operations.md documents each series and what to do when it moves.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { CLIENT_FRAME_TYPES, ErrorCode } from '@parley/protocol';
import { DEPENDENCY_UP, httpRequestHistogram, type HttpHistogram } from '@parley/telemetry';

/** Why an upgrade ended the way it did (bounded). */
export const UPGRADE_OUTCOMES = ['accepted', 'not_found', 'draining', 'starting', 'forbidden_origin', 'bad_subprotocol', 'unauthenticated', 'bad_token', 'revoked', 'cooldown', 'too_many_connections', 'error'] as const;
export type UpgradeOutcome = (typeof UPGRADE_OUTCOMES)[number];

/** Sub-millisecond to seconds: commits, fan-out and acks on a healthy replica sit in the low ms. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000];
const REPLAY_SIZE_BUCKETS = [0, 1, 10, 50, 100, 500, 1000, 5000, 20000];

export interface ChatMetrics {
  http: HttpHistogram;
  upgrades: Counter<'outcome'>;
  frames: Counter<'type' | 'outcome'>;
  framesRejected: Counter<'code'>;
  sendAck: Histogram;
  writeBatchSize: Histogram;
  writeCommit: Histogram;
  fanout: Histogram<'path'>;
  busLag: Histogram;
  busEvents: Counter<'kind'>;
  busReconnects: Counter;
  busPublishErrors: Counter;
  redisErrors: Counter<'client'>;
  resume: Histogram;
  resumeMessages: Histogram;
  drainSeconds: Gauge;
}

export function createChatMetrics(registry: Registry): ChatMetrics {
  const r = [registry];
  const m: ChatMetrics = {
    http: httpRequestHistogram(registry),
    upgrades: new Counter({ name: 'parley_chat_upgrades_total', help: 'WebSocket upgrade requests by outcome', labelNames: ['outcome'] as const, registers: r }),
    frames: new Counter({ name: 'parley_chat_frames_total', help: 'Client frames handled, by frame type and outcome (ok | rejected)', labelNames: ['type', 'outcome'] as const, registers: r }),
    framesRejected: new Counter({ name: 'parley_chat_frames_rejected_total', help: 'Error frames sent to clients, by protocol error code', labelNames: ['code'] as const, registers: r }),
    sendAck: new Histogram({ name: 'parley_chat_send_ack_seconds', help: 'From a send frame being handled to its ack (after COMMIT)', buckets: LATENCY_BUCKETS, registers: r }),
    writeBatchSize: new Histogram({ name: 'parley_chat_write_batch_messages', help: 'Messages per group-commit transaction', buckets: BATCH_SIZE_BUCKETS, registers: r }),
    writeCommit: new Histogram({ name: 'parley_chat_write_commit_seconds', help: 'Duration of one group-commit transaction (checkout to COMMIT result)', buckets: LATENCY_BUCKETS, registers: r }),
    fanout: new Histogram({ name: 'parley_chat_fanout_seconds', help: 'From a message\'s created_at (its insert transaction) to its write to the last local subscriber (path: local = committed here, remote = via the bus, repair = fetched from Postgres)', labelNames: ['path'] as const, buckets: LATENCY_BUCKETS, registers: r }),
    busLag: new Histogram({ name: 'parley_chat_bus_lag_seconds', help: 'Age of a message event when it arrives from the fan-out bus (its created_at to now)', buckets: LATENCY_BUCKETS, registers: r }),
    busEvents: new Counter({ name: 'parley_chat_bus_events_received_total', help: 'Fan-out bus events received from peers, by kind', labelNames: ['kind'] as const, registers: r }),
    busReconnects: new Counter({ name: 'parley_chat_bus_reconnects_total', help: 'Times the fan-out subscription was re-established (events in between were repaired from Postgres)', registers: r }),
    busPublishErrors: new Counter({ name: 'parley_chat_bus_publish_errors_total', help: 'Fan-out publishes that failed (peers repair from Postgres)', registers: r }),
    redisErrors: new Counter({ name: 'parley_redis_errors_total', help: 'Redis connection/command errors, by client', labelNames: ['client'] as const, registers: r }),
    resume: new Histogram({ name: 'parley_chat_resume_seconds', help: 'Join/resume backlog replay duration (join to caught_up)', buckets: LATENCY_BUCKETS, registers: r }),
    resumeMessages: new Histogram({ name: 'parley_chat_resume_messages', help: 'Messages replayed per join/resume', buckets: REPLAY_SIZE_BUCKETS, registers: r }),
    drainSeconds: new Gauge({ name: 'parley_chat_drain_seconds', help: 'Seconds since this replica started draining (0 when serving)', registers: r }),
  };
  // Pre-create the bounded series so rate() and alerts see zeros, not absent series, before the first event.
  for (const outcome of UPGRADE_OUTCOMES) m.upgrades.inc({ outcome }, 0);
  for (const type of CLIENT_FRAME_TYPES) for (const outcome of ['ok', 'rejected']) m.frames.inc({ type, outcome }, 0);
  for (const code of Object.values(ErrorCode)) m.framesRejected.inc({ code }, 0);
  for (const path of ['local', 'remote', 'repair']) m.fanout.zero({ path });
  return m;
}

/** What the hub's parts record (optional there: unit tests build hubs without metrics). */
export type HubMetrics = Pick<ChatMetrics, 'frames' | 'framesRejected' | 'sendAck' | 'fanout' | 'resume' | 'resumeMessages'>;

/** Live state read at scrape time. */
export interface ChatGaugeSources {
  connections: () => number;
  writeQueue: () => number;
  writeQueueLimit: number;
  writeBatches: () => number;
  writeFallbacks: () => number;
  busUp: () => boolean;
  /** The hub's own monotonic counters (also shown by /internal/stats). */
  hubCounters: () => { messagesStored: number; slowConsumersClosed: number; deadPeersDropped: number; gapRepairs: number };
  databaseUp: () => boolean;
  ready: () => boolean;
}

export function registerChatGauges(registry: Registry, s: ChatGaugeSources): void {
  const r = [registry];
  new Gauge({ name: 'parley_chat_connections', help: 'Open WebSocket connections on this replica', registers: r, collect() { this.set(s.connections()); } });
  new Gauge({ name: 'parley_chat_write_queue', help: 'Messages waiting for the group-commit writer', registers: r, collect() { this.set(s.writeQueue()); } });
  new Gauge({ name: 'parley_chat_write_queue_limit', help: 'MAX_WRITE_QUEUE: beyond it sends are refused with unavailable', registers: r, collect() { this.set(s.writeQueueLimit); } });
  counterFromTotal(registry, 'parley_chat_write_batches_total', 'Group-commit transactions committed', s.writeBatches);
  counterFromTotal(registry, 'parley_chat_write_fallbacks_total', 'Batches that failed and were retried one message at a time', s.writeFallbacks);
  counterFromTotal(registry, 'parley_chat_messages_stored_total', 'Messages stored by this replica (resends excluded)', () => s.hubCounters().messagesStored);
  counterFromTotal(registry, 'parley_chat_gap_repairs_total', 'Times this replica fetched from Postgres messages the bus did not bring', () => s.hubCounters().gapRepairs);
  counterFromTotal(registry, 'parley_chat_slow_consumers_closed_total', 'Sockets closed with 4008 (reader too far behind)', () => s.hubCounters().slowConsumersClosed);
  counterFromTotal(registry, 'parley_chat_dead_peers_dropped_total', 'Sockets terminated for missing heartbeat pongs', () => s.hubCounters().deadPeersDropped);
  new Gauge({ name: 'parley_chat_bus_up', help: '1 when the fan-out bus is subscribed and can publish', registers: r, collect() { this.set(s.busUp() ? 1 : 0); } });
  new Gauge({ name: DEPENDENCY_UP, help: '1 when the dependency answered the last check', labelNames: ['dependency'] as const, registers: r, collect() {
    this.set({ dependency: 'postgres' }, s.databaseUp() ? 1 : 0);
    this.set({ dependency: 'fanout' }, s.busUp() ? 1 : 0);
  } });
  new Gauge({ name: 'parley_ready', help: '1 when this process reports ready on /readyz', registers: r, collect() { this.set(s.ready() ? 1 : 0); } });
}

/** A Counter fed from a monotonically growing number kept elsewhere (read at scrape time). */
export function counterFromTotal(registry: Registry, name: string, help: string, read: () => number): Counter {
  let seen = 0;
  return new Counter({ name, help, registers: [registry], collect() {
    const now = read();
    if (now > seen) this.inc(now - seen);
    seen = Math.max(seen, now);
  } });
}
