// Shared scaffolding for the chat HTTP specs: the real server (Fastify + the ws upgrade) around a real
// hub on scripted storage, with its log lines captured as parsed JSON.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { scriptedHub } from '../hub/hub-test-kit.ts';
import { createChatMetrics } from '../metrics.ts';
import { createChatServer, type ServerDeps } from './server.ts';

export const INTERNAL_TOKEN = 'internal-token-for-tests';
export const CHAT_TOKEN_SECRET = 'chat-token-secret-for-tests';

export async function startChatHttp(overrides: Partial<ServerDeps> = {}) {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const scripted = scriptedHub({ writer: { stats: { batches: 4, batchedMessages: 9, fallbacks: 0, largestBatch: 3, unavailable: 0 }, queued: () => 0 } });
  const { hub } = scripted;
  const registry = new Registry();
  const chat = await createChatServer({
    hub,
    log: pino({ level: 'debug' }, sink),
    registry,
    metrics: createChatMetrics(registry),
    internalToken: INTERNAL_TOKEN,
    chatTokenSecret: CHAT_TOKEN_SECRET,
    allowedOrigins: new Set(['https://chat.example.test']),
    maxFrameBytes: 16 * 1024,
    readiness: () => Promise.resolve({ database: true, fanout: true, accepting: true }),
    sessions: { check: () => Promise.resolve('ok'), checkMany: (keys) => Promise.resolve(keys.map(() => 'ok' as const)) },
    ...overrides,
  });
  /** Log lines written so far (after pending writes land). */
  const settled = () => new Promise((r) => setImmediate(r)).then(() => lines);
  const stop = async () => {
    hub.stop();
    for (const ws of chat.wss.clients) ws.terminate();
    await chat.app.close();
  };
  return { chat, app: chat.app, hub, scripted, registry, settled, stop };
}
