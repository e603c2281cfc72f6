// Diagnostics (bench/README.md, "Wire format and permessage-deflate"): what permessage-deflate would buy
// and cost for chat's message frames. A `ws` server in its own process (as chat uses it) sends the same
// frames, each encoded once, to C clients, with permessage-deflate off, on with context takeover (ws's
// default window; threshold 0, as ws skips frames under 1 KB by default) and on without context takeover.
// Per delivery: bytes read off the TCP socket by the clients (payload + WS header, compressed), server CPU
// (/proc utime+stime), and the server's RSS per client. Frames: the persist scenario's message in
// protocol v1 and v2. `C=200 N=300 node bench/deflate-cost.mjs`. Shared machine: compare within one run.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import WebSocket, { WebSocketServer } from 'ws';

const MODES = {
  off: false,
  'deflate, context takeover': { threshold: 0 },
  'deflate, no context takeover': { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true },
};

/** The persist scenario's i-th message (bench/client.ts sendOne), as v1 and v2 send it. */
function frames(i) {
  const clientId = `p-${i % 8}-${i}`;
  const body = `persisted message ${clientId} ${'p'.repeat(48)}`;
  const createdAt = new Date(Date.UTC(2026, 11, 2, 10, 0, 0, 0) + i * 7);
  const uid = 1000 + (i % 8);
  return {
    v1: JSON.stringify({ type: 'message', room: 3, message: { id: 50_000 + i, roomId: 3, seq: i + 1, author: { id: uid, handle: `bench_${uid}`, displayName: `Bench ${uid}` }, clientId, body, createdAt: createdAt.toISOString(), editedAt: null, deletedAt: null } }),
    v2: JSON.stringify({ type: 'message', room: 3, i: 50_000 + i, s: i + 1, a: uid, c: clientId, b: body, t: createdAt.getTime() }),
  };
}

if (process.argv[2] === 'server') {
  const mode = MODES[process.argv[3]];
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: mode });
  const cpu = () => readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ').slice(11, 13).reduce((a, b) => a + Number(b), 0) / 100;
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
  wss.on('listening', () => process.send({ port: wss.address().port }));
  process.on('message', async (m) => {
    if (m.cmd === 'rss') return process.send({ rss: rss() });
    const t0 = cpu();
    for (let i = 0; i < m.n; i++) {
      const bytes = Buffer.from(frames(i)[m.version]); // once per frame, the same bytes to every socket
      for (const ws of wss.clients) ws.send(bytes, { binary: false });
      if (i % 20 === 19) await new Promise((r) => setImmediate(r));
    }
    // Wait until every socket has written its frames (compression is asynchronous).
    while ([...wss.clients].some((ws) => ws.bufferedAmount > 0 || ws._sender?._queue?.length)) await new Promise((r) => setTimeout(r, 5));
    process.send({ cpu: cpu() - t0 });
  });
} else {
  const C = Number(process.env.C ?? 200);
  const N = Number(process.env.N ?? 300);
  const rows = [];
  for (const [name, mode] of Object.entries(MODES)) {
    const server = fork(new URL(import.meta.url).pathname, ['server', name]);
    const ask = (msg) => new Promise((r) => { server.once('message', r); if (msg) server.send(msg); });
    const { port } = await ask();
    const { rss: rss0 } = await ask({ cmd: 'rss' });
    const clients = await Promise.all(Array.from({ length: C }, () => new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: mode });
      const c = { ws, frames: 0 };
      ws.on('message', () => c.frames++);
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
    })));
    for (const version of ['v1', 'v2']) {
      for (const c of clients) c.frames = 0;
      const read0 = clients.reduce((n, c) => n + c.ws._socket.bytesRead, 0);
      const { cpu } = await ask({ n: N, version });
      while (clients.some((c) => c.frames < N)) await new Promise((r) => setTimeout(r, 5));
      const read = clients.reduce((n, c) => n + c.ws._socket.bytesRead, 0) - read0;
      const deliveries = C * N;
      rows.push({ mode: name, version, raw: Buffer.byteLength(frames(N >> 1)[version]), wireBytesPerDelivery: read / deliveries, serverCpuUsPerDelivery: (cpu * 1e6) / deliveries });
    }
    const { rss } = await ask({ cmd: 'rss' });
    rows.filter((r) => r.mode === name).forEach((r) => (r.serverRssKbPerClient = (rss - rss0) / C / 1024));
    for (const c of clients) c.ws.terminate();
    server.kill();
  }
  console.log(`${C} clients × ${N} frames per version, frames encoded once and sent to every client`);
  console.log('| permessage-deflate | protocol | frame (bytes) | on the wire per delivery (bytes) | server CPU per delivery (µs) | server RSS per client (KB) |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: |');
  for (const r of rows) console.log(`| ${r.mode} | ${r.version} | ${r.raw} | ${r.wireBytesPerDelivery.toFixed(1)} | ${r.serverCpuUsPerDelivery.toFixed(1)} | ${r.serverRssKbPerClient.toFixed(1)} |`);
}
