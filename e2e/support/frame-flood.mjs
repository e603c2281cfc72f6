// An abusive client in its own process (so its CPU does not slow the measuring test process): opens
// SOCKETS sockets for one user and floods each with edit/join/history frames as fast as the socket
// drains, reconnecting whenever the server closes or refuses it. SIGUSR1 starts the flood, SIGUSR2
// stops it (closing its sockets), so a test can interleave loaded and unloaded measurements. Prints
// counts on SIGTERM. env: URL, TOKEN, ROOM, SEQ (a message of this user to edit), SOCKETS
import WebSocket from 'ws';

const { URL: url, TOKEN: token, ROOM, SEQ, SOCKETS } = process.env;
const room = Number(ROOM);
const seq = Number(SEQ);
const counts = { sent: 0, opened: 0, refused: 0, closedByServer: 0, errors: 0 };
const frames = [
  JSON.stringify({ type: 'edit', room, seq, body: 'flood edit' }),
  JSON.stringify({ type: 'join', room }),
  JSON.stringify({ type: 'history', room, beforeSeq: 1_000_000, limit: 200 }),
];

let flooding = false;
const live = new Set();

function open() {
  if (!flooding) return;
  const ws = new WebSocket(url, ['parley.v1', `token.${token}`]);
  live.add(ws);
  let timer = null;
  ws.on('open', () => {
    counts.opened++;
    const blast = () => {
      if (ws.readyState !== WebSocket.OPEN) return;
      // Keep the socket's buffer short so the flood stays at the server's pace, not in our memory; while
      // the server does not read, wait a little instead of spinning (this process shares the machine's
      // cores with the server under test, a real attacker would not).
      if (ws.bufferedAmount < 256 * 1024) {
        for (let i = 0; i < 50; i++, counts.sent++) ws.send(frames[counts.sent % frames.length]);
        timer = setImmediate(blast);
      } else {
        timer = setTimeout(blast, 5);
      }
    };
    blast();
  });
  ws.on('message', (data) => {
    if (String(data).includes('"error"')) counts.errors++;
  });
  ws.on('unexpected-response', () => {
    counts.refused++;
    setTimeout(open, 100);
  });
  ws.on('close', () => {
    live.delete(ws);
    if (timer) {
      clearImmediate(timer);
      clearTimeout(timer);
    }
    if (!flooding) return;
    counts.closedByServer++;
    setTimeout(open, 50);
  });
  ws.on('error', () => undefined);
}

process.on('SIGUSR1', () => {
  flooding = true;
  for (let i = 0; i < Number(SOCKETS ?? 5); i++) open();
});
process.on('SIGUSR2', () => {
  flooding = false;
  for (const ws of live) ws.terminate();
});
setInterval(() => undefined, 60_000); // stay alive between floods
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify(counts)}\n`);
  process.exit(0);
});
