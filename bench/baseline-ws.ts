// Baseline 1 of `npm run bench`: a raw `ws` broadcast loop with no auth, no parsing and no storage —
// the limit of this stack (Node + ws) on this machine. Every text frame a client sends is written
// unchanged to every connected client. Runs as its own process so /proc CPU accounting compares
// with Parley's chat process.
import { createServer } from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';

const server = createServer((req, res) => {
  res.writeHead(req.url === '/readyz' || req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end('ok');
});
const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: true });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
  });
  ws.on('error', () => undefined);
});
server.listen(port, host, () => console.log(JSON.stringify({ msg: 'baseline ws listening', port })));
const stop = () => {
  for (const client of wss.clients) client.terminate();
  server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
