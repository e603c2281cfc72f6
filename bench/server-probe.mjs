// Loaded into every server under test (`--import`, see bench/server-probe.ts): counts writes to the
// server's accepted sockets (one `_write` or `_writev` = one write to the kernel, so N frames corked
// together count once) and, on request, reports the V8 heap after a forced full GC. The bench asks by
// writing a request file and sending SIGUSR2; the answer is written next to it (renamed into place).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

let socketWrites = 0;
const write = Socket.prototype._write;
const writev = Socket.prototype._writev;
// Only sockets a server accepted (clients), not this process's own Postgres or Redis connections.
Socket.prototype._write = function (...args) {
  if (this.server) socketWrites++;
  return write.apply(this, args);
};
Socket.prototype._writev = function (...args) {
  if (this.server) socketWrites++;
  return writev.apply(this, args);
};

const base = join(tmpdir(), `parley-bench-probe-${process.pid}`);
process.on('SIGUSR2', () => {
  let wantGc = false;
  try {
    wantGc = readFileSync(`${base}.req`, 'utf8').includes('gc');
  } catch {
    // no request file: counters only
  }
  if (wantGc) {
    gc();
    gc(); // a second pass frees what the first one's finalizers released
  }
  const { heapUsed, external, arrayBuffers, rss } = process.memoryUsage();
  writeFileSync(`${base}.tmp`, JSON.stringify({ socketWrites, heapUsed, external, arrayBuffers, rss, gc: wantGc }));
  renameSync(`${base}.tmp`, `${base}.json`);
});
