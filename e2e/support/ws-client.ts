// A Node WebSocket client speaking the Parley protocol, for tests and benchmarks.
import WebSocket from 'ws';
import { SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX, type ServerFrame, type ClientFrame } from '@parley/protocol';

export class TestSocket {
  readonly frames: ServerFrame[] = [];
  private waiters: Array<{ pred: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }> = [];
  closed: { code: number; reason: string } | null = null;
  private closeWaiters: Array<(c: { code: number; reason: string }) => void> = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ServerFrame;
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => {
        if (w.pred(frame)) {
          w.resolve(frame);
          return false;
        }
        return true;
      });
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.closeWaiters) w(this.closed);
    });
    ws.on('error', () => undefined);
  }

  static open(url: string, token: string | null, opts: { origin?: string; localAddress?: string } = {}): Promise<TestSocket> {
    return new Promise((resolve, reject) => {
      const protocols = token === null ? [SUBPROTOCOL] : [SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`];
      const ws = new WebSocket(url, protocols, { origin: opts.origin, localAddress: opts.localAddress });
      const sock = new TestSocket(ws);
      ws.once('open', () => resolve(sock));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }

  send(frame: ClientFrame | Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  next<T extends ServerFrame['type']>(type: T, pred: (f: Extract<ServerFrame, { type: T }>) => boolean = () => true, timeoutMs = 10_000): Promise<Extract<ServerFrame, { type: T }>> {
    const match = (f: ServerFrame) => f.type === type && pred(f as Extract<ServerFrame, { type: T }>);
    const existing = this.frames.find(match);
    if (existing) return Promise.resolve(existing as Extract<ServerFrame, { type: T }>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${type} frame; got ${this.frames.map((f) => f.type).join(',')}`)), timeoutMs);
      this.waiters.push({ pred: match, resolve: (f) => { clearTimeout(timer); resolve(f as Extract<ServerFrame, { type: T }>); } });
    });
  }

  /** Forget frames seen so far (so `next` waits for new ones). */
  clear(): void {
    this.frames.length = 0;
  }

  waitClose(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for close')), timeoutMs);
      this.closeWaiters.push((c) => { clearTimeout(timer); resolve(c); });
    });
  }

  close(): void {
    this.ws.close();
  }
}
