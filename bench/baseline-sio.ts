// Baseline 2 of `npm run bench`: Socket.IO with its Redis adapter (what teams usually pick for this),
// doing the same broadcast as Parley: a client emits `bcast`, the server emits it to the room, and the
// adapter publishes it to Redis for other nodes. WebSocket transport only (no polling upgrade), no
// compression, default ping settings. Its own process, like Parley's chat server.
import { once } from 'node:events';
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const key = process.env.REDIS_KEY_PREFIX ?? 'bench-sio';

const pub = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
const sub = pub.duplicate();
for (const c of [pub, sub]) c.on('error', (err) => console.error(JSON.stringify({ msg: 'redis error', err: err.message })));
await Promise.all([pub, sub].filter((c) => c.status !== 'ready').map((c) => once(c, 'ready')));

const server = createServer((req, res) => {
  res.writeHead(req.url === '/readyz' || req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end('ok');
});
const io = new Server(server, { transports: ['websocket'], serveClient: false, perMessageDeflate: false, adapter: createAdapter(pub, sub, { key }) });
io.on('connection', (socket) => {
  const room = socket.handshake.query.join;
  if (typeof room === 'string') void socket.join(`room:${room}`);
  socket.on('join', (id: number) => {
    void socket.join(`room:${id}`);
    socket.emit('joined', id);
  });
  socket.on('bcast', (frame: { room?: number }) => {
    io.to(`room:${frame.room ?? 1}`).emit('message', frame);
  });
});
server.listen(port, host, () => console.log(JSON.stringify({ msg: 'baseline socket.io listening', port })));
const stop = () => {
  io.disconnectSockets(true);
  pub.disconnect();
  sub.disconnect();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
