// A load-generator process of `npm run bench` (forked by run.ts): holds thousands of WebSocket
// clients of one system under test (Parley, raw ws, or Socket.IO spoken over the same `ws` client so
// that client costs are equal), records broadcast latencies from the marker in each body, reports
// progress for the publisher's window, and drives Parley senders for the persistence scenario.
import WebSocket from 'ws';
import { signChatToken } from '@parley/chat-token';
import { SUBPROTOCOL, SUBPROTOCOL_V2, TOKEN_SUBPROTOCOL_PREFIX } from '@parley/protocol';
import {
  type ChildMsg, type ConnectCmd, type ParentMsg, type PersistCmd, Histogram, nowMs, readMarker, wsHeaderBytes,
} from './common.ts';

const MAX_MSGS = 200_000;
/** Parley is spoken in protocol version 2 (lean frames), as the web client does; `v1` for comparisons. */
const PARLEY_SUBPROTOCOL = process.env.BENCH_PARLEY_PROTOCOL === 'v1' ? SUBPROTOCOL : SUBPROTOCOL_V2;

interface Conn {
  i: number;
  ws: WebSocket;
  room: number | null;
  ready: boolean;
  /** counted in `alive`: receives broadcasts */
  subscribed: boolean;
  /** set while a join is in flight: setup frames go here, not to the hot path */
  onSetup: ((text: string) => void) | null;
  /** persistence: clientId -> send time */
  pending: Map<string, number> | null;
  seq: number;
}

const send = (m: ChildMsg) => process.send?.(m);
const conns: Conn[] = [];
let kind: ConnectCmd['kind'] = 'ws';

// ---- broadcast tracking (hot path) ---------------------------------------------------------------
let tracking = false;
let base = 0;
const hist = new Histogram();
const perMsgCount = new Uint32Array(MAX_MSGS);
const perMsgMax = new Float64Array(MAX_MSGS);
let deliveries = 0;
let maxIdx = -1;
let alive = 0;
let complete = 0;
let reportedComplete = -1;
const closedCodes: Record<string, number> = {};
const mark = { index: 0, sentAt: 0 };
let bytesReceived = 0;
let framesReceived = 0;

function onBroadcastFrame(buf: Buffer): void {
  if (!tracking || !readMarker(buf, mark)) return;
  const i = mark.index - base;
  if (i < 0 || i >= MAX_MSGS) return;
  const lat = nowMs() - mark.sentAt;
  hist.record(lat);
  deliveries++;
  perMsgCount[i]!++;
  if (lat > perMsgMax[i]!) perMsgMax[i] = lat;
  if (i > maxIdx) maxIdx = i;
}

setInterval(() => {
  if (!tracking) return;
  while (complete <= maxIdx && perMsgCount[complete]! >= alive) complete++;
  if (complete !== reportedComplete) {
    reportedComplete = complete;
    send({ t: 'progress', complete: base + complete });
  }
}, 10).unref();

// ---- persistence (Parley senders) ---------------------------------------------------------------
let persist: {
  hist: Histogram; acked: number; errors: Record<string, number>; startedAt: number; sendUntil: number; ackedInWindow: number;
  deliveries: number; bytes: number; wireBytes: number; frames: number; onAck: (c: Conn) => void;
} | null = null;

function onPersistFrame(conn: Conn, buf: Buffer): void {
  // '{"type":"' is 9 bytes: the next byte tells ack ('a') and error ('e') from deliveries ('m'); v2's
  // `users` frames ('u') count as bytes, not deliveries.
  const t = buf[9];
  if (persist) {
    persist.frames++;
    persist.bytes += buf.length;
    persist.wireBytes += buf.length + wsHeaderBytes(buf.length);
    if (t === 0x6d) persist.deliveries++;
  }
  if (!persist || !conn.pending || (t !== 0x61 && t !== 0x65)) return;
  const frame = JSON.parse(buf.toString('utf8')) as { type: string; clientId?: string; c?: string; ref?: string; code?: string };
  const id = frame.type === 'ack' ? (frame.c ?? frame.clientId) : frame.ref; // v2 acks say `c`
  if (id === undefined) return;
  const sentAt = conn.pending.get(id);
  if (sentAt === undefined) return;
  conn.pending.delete(id);
  const now = nowMs();
  if (frame.type === 'ack') {
    persist.hist.record(now - sentAt);
    persist.acked++;
    if (now <= persist.sendUntil) persist.ackedInWindow++;
  } else {
    persist.errors[frame.code ?? 'unknown'] = (persist.errors[frame.code ?? 'unknown'] ?? 0) + 1;
  }
  persist.onAck(conn);
}

function sendOne(conn: Conn, tag: string): void {
  const clientId = `${tag}-${conn.i}-${conn.seq++}`;
  conn.pending!.set(clientId, nowMs());
  conn.ws.send(`{"type":"send","room":${conn.room},"clientId":"${clientId}","body":"persisted message ${clientId} ${'p'.repeat(48)}"}`);
}

async function runPersist(cmd: PersistCmd): Promise<void> {
  const ready = conns.filter((c) => c.ready && c.room !== null);
  for (const c of ready) c.pending = new Map();
  const startedAt = nowMs();
  const sendUntil = startedAt + cmd.durationMs;
  let sent = 0;
  const state = {
    hist: new Histogram(),
    acked: 0,
    errors: {} as Record<string, number>,
    startedAt,
    sendUntil,
    ackedInWindow: 0,
    deliveries: 0,
    bytes: 0,
    wireBytes: 0,
    frames: 0,
    onAck: (c: Conn) => {
      if (cmd.mode === 'window' && nowMs() < sendUntil && c.ws.readyState === WebSocket.OPEN) {
        sendOne(c, cmd.tag);
        sent++;
      }
    },
  };
  persist = state;
  if (cmd.mode === 'window') {
    for (const c of ready) for (let k = 0; k < cmd.window; k++) {
      sendOne(c, cmd.tag);
      sent++;
    }
    await new Promise((r) => setTimeout(r, cmd.durationMs));
  } else {
    let next = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = nowMs();
        const due = Math.floor((Math.min(now, sendUntil) - startedAt) / 1000 * cmd.rate);
        while (sent < due && ready.length) {
          const c = ready[next++ % ready.length]!;
          if (c.ws.readyState !== WebSocket.OPEN) continue;
          sendOne(c, cmd.tag);
          sent++;
        }
        if (now >= sendUntil) {
          clearInterval(timer);
          resolve();
        }
      }, 2);
    });
  }
  const sendMs = nowMs() - startedAt;
  const pendingCount = () => ready.reduce((n, c) => n + (c.pending?.size ?? 0), 0);
  const drainUntil = nowMs() + cmd.drainMs;
  while (pendingCount() > 0 && nowMs() < drainUntil) await new Promise((r) => setTimeout(r, 20));
  persist = null;
  const unacked = pendingCount();
  for (const c of ready) c.pending = null;
  send({ t: 'persist', sent, acked: state.acked, hist: state.hist.toSparse(), errors: state.errors, ackedInWindow: state.ackedInWindow, unacked, sendMs,
    deliveries: state.deliveries, bytesReceived: state.bytes, wireBytesReceived: state.wireBytes, framesReceived: state.frames });
}

// ---- connecting --------------------------------------------------------------------------------
function openOne(cmd: ConnectCmd, local: number): Promise<void> {
  const g = cmd.offset + local;
  const localAddress = cmd.addresses[g % cmd.addresses.length];
  const room = cmd.joinRooms ? cmd.joinRooms[local % cmd.joinRooms.length]! : null;
  let url = cmd.url;
  let protocols: string[] | undefined;
  if (cmd.kind === 'parley') {
    const p = cmd.parley!;
    const uid = p.firstUserId + (g % p.users);
    const n = uid - p.firstUserId + 1;
    const token = signChatToken({ uid, sid: `bench-${g}`, handle: `bench_${n}`, name: `Bench ${n}`, role: 'user' }, p.secret, 3600);
    protocols = [PARLEY_SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`];
  } else if (cmd.kind === 'sio') {
    url += `${url.includes('?') ? '&' : '?'}EIO=4&transport=websocket${room !== null ? `&join=${room}` : ''}`;
  }
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { perMessageDeflate: false, localAddress, handshakeTimeout: 30_000 });
    const conn: Conn = { i: g, ws, room, ready: false, subscribed: false, onSetup: null, pending: null, seq: 0 };
    let settled = false;
    const done = (err?: Error) => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else {
        conn.ready = true;
        conns.push(conn);
        if (room !== null || cmd.kind === 'ws') {
          conn.subscribed = true;
          alive++;
        }
        resolve();
      }
    };
    ws.on('message', (data: Buffer) => {
      bytesReceived += data.length;
      framesReceived++;
      if (conn.ready) {
        if (kind === 'sio' && data.length === 1 && data[0] === 0x32) return void ws.send('3'); // engine.io ping
        if (conn.onSetup) return conn.onSetup(data.toString('utf8'));
        if (conn.pending) return onPersistFrame(conn, data);
        return onBroadcastFrame(data);
      }
      const text = data.toString('utf8');
      if (cmd.kind === 'parley') {
        if (text.startsWith('{"type":"hello"')) {
          if (room === null) return done();
          ws.send(JSON.stringify({ type: 'join', room, sinceSeq: Number.MAX_SAFE_INTEGER, presence: 'diff' }));
        } else if (text.startsWith('{"type":"caught_up"')) done();
        else if (text.startsWith('{"type":"error"')) done(new Error(`join refused: ${text.slice(0, 200)}`));
      } else if (cmd.kind === 'sio') {
        if (text.startsWith('0{')) ws.send('40');
        else if (text.startsWith('40')) done();
        else if (text === '2') ws.send('3');
        else if (text.startsWith('44')) done(new Error(`socket.io connect error: ${text.slice(0, 200)}`));
      }
    });
    ws.on('open', () => {
      if (cmd.kind === 'ws') done();
    });
    ws.on('unexpected-response', (_req, res) => {
      done(new Error(`HTTP ${res.statusCode}`));
      ws.terminate();
    });
    ws.on('error', (err) => done(err));
    ws.on('close', (code) => {
      closedCodes[code] = (closedCodes[code] ?? 0) + 1;
      conn.ready = false;
      if (conn.subscribed) {
        conn.subscribed = false;
        alive--;
      }
      conn.onSetup?.('{"type":"closed"}');
      done(new Error(`closed with ${code} during setup`));
    });
  });
}

async function connectAll(cmd: ConnectCmd): Promise<void> {
  kind = cmd.kind;
  const started = nowMs();
  let next = 0;
  let ok = 0;
  let failed = 0;
  const errors: string[] = [];
  const ready = new Histogram();
  const worker = async () => {
    while (next < cmd.count) {
      const local = next++;
      if (cmd.rampMs && cmd.total) {
        const due = started + ((cmd.offset + local) * cmd.rampMs) / cmd.total;
        const wait = due - nowMs();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const t0 = nowMs();
      try {
        await openOne(cmd, local);
        ready.record(nowMs() - t0);
        ok++;
      } catch (err) {
        failed++;
        if (errors.length < 5) errors.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(cmd.concurrency, cmd.count) }, worker));
  send({ t: 'connected', ok, failed, ms: nowMs() - started, errors, bytesReceived, framesReceived, hist: ready.toSparse() });
}

/** Subscribe an already open connection to a room. */
function joinOne(conn: Conn, room: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!conn.ready) return reject(new Error('connection closed'));
    const timer = setTimeout(() => finish(new Error('join timed out')), 60_000);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      conn.onSetup = null;
      if (err) return reject(err);
      conn.room = room;
      if (!conn.subscribed) {
        conn.subscribed = true;
        alive++;
      }
      resolve();
    };
    if (kind === 'ws') return finish();
    conn.onSetup = (text) => {
      if (text === '{"type":"closed"}') finish(new Error('closed while joining'));
      else if (kind === 'parley') {
        if (text.startsWith('{"type":"caught_up"')) finish();
        else if (text.startsWith('{"type":"error"')) finish(new Error(`join refused: ${text.slice(0, 200)}`));
      } else if (text.startsWith('42["joined"')) finish();
    };
    conn.ws.send(kind === 'parley' ? JSON.stringify({ type: 'join', room, sinceSeq: Number.MAX_SAFE_INTEGER, presence: 'diff' }) : `42${JSON.stringify(['join', room])}`);
  });
}

async function joinAll(rooms: number[], concurrency: number): Promise<void> {
  const started = nowMs();
  const todo = conns.filter((c) => c.ready);
  let next = 0;
  let ok = 0;
  let failed = 0;
  const errors: string[] = [];
  const worker = async () => {
    while (next < todo.length) {
      const i = next++;
      try {
        await joinOne(todo[i]!, rooms[i % rooms.length]!);
        ok++;
      } catch (err) {
        failed++;
        if (errors.length < 5) errors.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));
  send({ t: 'joined', ok, failed, ms: nowMs() - started, errors });
}

async function prune(keep: number): Promise<void> {
  const drop = conns.splice(keep);
  await Promise.all(drop.map((c) => new Promise<void>((resolve) => {
    if (c.ws.readyState === WebSocket.CLOSED) return resolve();
    c.ws.once('close', () => resolve());
    c.ws.terminate();
  })));
  send({ t: 'pruned', open: conns.filter((c) => c.ready).length });
}

process.on('message', (raw) => {
  const msg = raw as ParentMsg;
  switch (msg.cmd) {
    case 'connect':
      void connectAll(msg);
      return;
    case 'phase':
      base = msg.base;
      hist.reset();
      perMsgCount.fill(0);
      perMsgMax.fill(0);
      deliveries = 0;
      maxIdx = -1;
      complete = 0;
      reportedComplete = -1;
      tracking = msg.track;
      return;
    case 'count':
      return void send({ t: 'count', deliveries });
    case 'stats':
      return void send({
        t: 'stats',
        deliveries,
        hist: hist.toSparse(),
        perMsgCount: Array.from(perMsgCount.subarray(0, maxIdx + 1)),
        perMsgMax: Array.from(perMsgMax.subarray(0, maxIdx + 1)),
        alive,
        closedCodes,
        bytesReceived,
      });
    case 'persist':
      void runPersist(msg);
      return;
    case 'prune':
      void prune(msg.keep);
      return;
    case 'join':
      void joinAll(msg.rooms, msg.concurrency);
      return;
    case 'close':
      tracking = false;
      for (const c of conns) c.ws.terminate();
      send({ t: 'closed' });
      setTimeout(() => process.exit(0), 50);
      return;
  }
});
process.on('disconnect', () => process.exit(0));
send({ t: 'ready' });
