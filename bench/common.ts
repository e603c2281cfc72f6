// Shared by the benchmark orchestrator (run.ts), its client processes (client.ts) and the baseline
// servers: the IPC messages, the latency histogram, the broadcast marker and /proc readers.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable between processes on one machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export type SystemKind = 'parley' | 'ws' | 'sio';
export const SYSTEM_LABEL: Record<SystemKind, string> = { parley: 'Parley', ws: 'raw ws', sio: 'Socket.IO + Redis adapter' };

// ---- the broadcast marker -------------------------------------------------------------------------
// Every broadcast body carries `#B#<index>#<send time ms>#`: clients find it with one Buffer.indexOf,
// whatever the envelope (Parley frame, raw ws text, Socket.IO packet), so all systems cost clients the same.

export const MARKER = '#B#';
const MARKER_BUF = Buffer.from(MARKER, 'latin1');

export function markerBody(index: number, sentAt: number, padTo = 80): string {
  const head = `${MARKER}${index}#${sentAt.toFixed(3)}#`;
  return head.length >= padTo ? head : head + 'x'.repeat(padTo - head.length);
}

/** Parses the marker in a received frame: [index, sentAt] or null. No allocation on the hot path. */
export function readMarker(buf: Buffer, out: { index: number; sentAt: number }): boolean {
  let p = buf.indexOf(MARKER_BUF);
  if (p < 0) return false;
  p += MARKER_BUF.length;
  let index = 0;
  let c = buf[p];
  while (c !== undefined && c >= 48 && c <= 57) {
    index = index * 10 + (c - 48);
    c = buf[++p];
  }
  if (c !== 0x23) return false;
  c = buf[++p];
  let whole = 0;
  while (c !== undefined && c >= 48 && c <= 57) {
    whole = whole * 10 + (c - 48);
    c = buf[++p];
  }
  let frac = 0;
  let scale = 1;
  if (c === 0x2e) {
    c = buf[++p];
    while (c !== undefined && c >= 48 && c <= 57) {
      frac = frac * 10 + (c - 48);
      scale *= 10;
      c = buf[++p];
    }
  }
  out.index = index;
  out.sentAt = whole + frac / scale;
  return true;
}

/** A Parley-shaped message frame, so that the baselines carry the same bytes as Parley does. */
export function broadcastFrame(index: number, sentAt: number) {
  return {
    type: 'message',
    room: 1,
    message: {
      id: index + 1,
      roomId: 1,
      seq: index + 1,
      author: { id: 1, handle: 'bench_pub', displayName: 'Bench publisher' },
      clientId: `b-${index}`,
      body: markerBody(index, sentAt),
      createdAt: new Date(sentAt).toISOString(),
      editedAt: null,
      deletedAt: null,
    },
  };
}

// ---- latency histogram ----------------------------------------------------------------------------
// 0.1 ms buckets below 100 ms, 1 ms buckets below 10 s, 10 ms buckets below 120 s (clamped above).

const TIER1 = 1000; // 0..100 ms
const TIER2 = TIER1 + 9900; // 100 ms..10 s
const TIER3 = TIER2 + 11000; // 10 s..120 s
export const HIST_BUCKETS = TIER3 + 1;

export function bucketOf(ms: number): number {
  if (!(ms > 0)) return 0;
  if (ms < 100) return Math.floor(ms * 10);
  if (ms < 10_000) return TIER1 + Math.floor(ms - 100);
  if (ms < 120_000) return TIER2 + Math.floor((ms - 10_000) / 10);
  return TIER3;
}

/** Upper edge of a bucket, in ms (percentiles are reported conservatively). */
export function bucketUpper(b: number): number {
  if (b < TIER1) return (b + 1) / 10;
  if (b < TIER2) return 100 + (b - TIER1) + 1;
  if (b < TIER3) return 10_000 + (b - TIER2 + 1) * 10;
  return 120_000;
}

export class Histogram {
  counts = new Uint32Array(HIST_BUCKETS);
  total = 0;
  sum = 0;
  max = 0;

  record(ms: number): void {
    this.counts[bucketOf(ms)]!++;
    this.total++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.sum = 0;
    this.max = 0;
  }

  toSparse(): SparseHist {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]) buckets.push([i, this.counts[i]!]);
    return { buckets, total: this.total, sum: this.sum, max: this.max };
  }

  add(s: SparseHist): void {
    for (const [b, n] of s.buckets) this.counts[b]! += n;
    this.total += s.total;
    this.sum += s.sum;
    if (s.max > this.max) this.max = s.max;
  }

  percentile(p: number): number | null {
    if (!this.total) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(bucketUpper(i), this.max);
    }
    return this.max;
  }

  mean(): number | null {
    return this.total ? this.sum / this.total : null;
  }
}

export interface SparseHist {
  buckets: Array<[number, number]>;
  total: number;
  sum: number;
  max: number;
}

// ---- IPC between run.ts and client.ts -------------------------------------------------------------

export interface ConnectCmd {
  cmd: 'connect';
  kind: SystemKind;
  /** ws://host:port/... of the server under test */
  url: string;
  count: number;
  /** Global index of this process's first connection (users and source addresses follow it). */
  offset: number;
  addresses: string[];
  concurrency: number;
  /** Connection i joins rooms[i % length] after connecting (Parley: `join`; Socket.IO: a server-side
   * room via the query; raw ws: every socket gets every broadcast). null: stay idle. */
  joinRooms: number[] | null;
  parley?: { secret: string; firstUserId: number; users: number };
  /**
   * Spread the arrivals: connection g (global index) starts `g × rampMs / total` after the command
   * (arrivals at a steady rate over rampMs, as a crowd arrives), instead of as fast as `concurrency` allows.
   */
  rampMs?: number;
  total?: number;
}

export interface PersistCmd {
  cmd: 'persist';
  mode: 'window' | 'rate';
  durationMs: number;
  /** window mode: unacknowledged sends per connection */
  window: number;
  /** rate mode: messages per second across this process's connections */
  rate: number;
  drainMs: number;
  tag: string;
}

export type ParentMsg =
  | ConnectCmd
  | { cmd: 'phase'; base: number; track: boolean }
  | { cmd: 'count' }
  | { cmd: 'stats' }
  | PersistCmd
  /** Keep the first `keep` connections, close the others. */
  | { cmd: 'prune'; keep: number }
  /** Subscribe every open connection to rooms[i % length] (Parley `join`, Socket.IO `join` event). */
  | { cmd: 'join'; rooms: number[]; concurrency: number }
  | { cmd: 'close' };

export interface ConnectResult {
  t: 'connected';
  ok: number;
  failed: number;
  ms: number;
  errors: string[];
  bytesReceived: number;
  framesReceived: number;
  /** Each successful connection's connect-to-ready time (ms; joined and caught up when it joins a room). */
  hist: SparseHist;
}

export interface PhaseStats {
  t: 'stats';
  deliveries: number;
  hist: SparseHist;
  /** per broadcast (index - base): deliveries and the slowest subscriber's latency */
  perMsgCount: number[];
  perMsgMax: number[];
  alive: number;
  closedCodes: Record<string, number>;
  /** bytes of WebSocket messages received by this process so far */
  bytesReceived: number;
}

export interface PersistResult {
  t: 'persist';
  sent: number;
  acked: number;
  hist: SparseHist;
  errors: Record<string, number>;
  /** acks received while still sending (the sustained rate, without the final drain) */
  ackedInWindow: number;
  unacked: number;
  sendMs: number;
  /** message frames (deliveries to room members) received while sending and draining */
  deliveries: number;
  /** WebSocket payload bytes received in that time (acks, errors and deliveries) */
  bytesReceived: number;
  /** the same plus each frame's server-to-client header (2 bytes below 126, 4 below 65,536, else 10) */
  wireBytesReceived: number;
  framesReceived: number;
}

export type ChildMsg =
  | ConnectResult
  | { t: 'progress'; complete: number }
  | { t: 'count'; deliveries: number }
  | PhaseStats
  | PersistResult
  | { t: 'closed' }
  | { t: 'pruned'; open: number }
  | { t: 'joined'; ok: number; failed: number; ms: number; errors: string[] }
  | { t: 'ready' }
  | { t: 'log'; line: string };

// ---- /proc ----------------------------------------------------------------------------------------

let clkTck: number | null = null;
function ticksPerSecond(): number {
  if (clkTck === null) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(r.stdout?.trim());
    clkTck = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return clkTck;
}

/** utime + stime of a process, in seconds (0 if it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return 0;
  }
}

/** Server-to-client WebSocket frame header length for a payload of `n` bytes (unmasked, no extensions). */
export function wsHeaderBytes(n: number): number {
  return n < 126 ? 2 : n < 65_536 ? 4 : 10;
}

/** Resident set size in bytes (0 if the process is gone). */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function median(values: number[]): number | null {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export function quantile(values: number[], q: number): number | null {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))]!;
}
