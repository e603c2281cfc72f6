// The one http.Server on a real loopback port: Fastify answers HTTP, the raw `ws` upgrade on /socket
// admits a valid token (the hub says hello) and refuses the rest with plain HTTP answers, and a drain
// refuses upgrades while HTTP keeps answering; a ban applied while a socket is being upgraded closes it.
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { signChatToken } from '@parley/chat-token';
import { CloseCode, SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from '@parley/protocol';
import type { ScriptedHub } from '../hub/hub-test-kit.ts';
import type { ServerDeps } from './server.ts';
import { CHAT_TOKEN_SECRET, startChatHttp } from './server-test-kit.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function listening(overrides: Partial<ServerDeps> = {}) {
  const started = await startChatHttp(overrides);
  stops.push(started.stop);
  await started.hub.control.caughtUp(); // the control plane knows its cursor: upgrades are admitted
  await new Promise<void>((r) => started.chat.server.listen(0, '127.0.0.1', r));
  const { port } = started.chat.server.address() as AddressInfo;
  return { ...started, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}/socket` };
}

const token = (uid: number) => signChatToken({ uid, sid: `s${uid}`, handle: `u${uid}`, name: `U${uid}`, role: 'user' }, CHAT_TOKEN_SECRET);

/** The first frame of an admitted socket, or the HTTP status and request id of a refused upgrade. */
function connect(url: string, protocols: string[], headers: Record<string, string> = {}): Promise<{ frame: Record<string, unknown> } | { status: number; requestId: string | undefined }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    ws.once('message', (data: Buffer) => {
      resolve({ frame: JSON.parse(data.toString('utf8')) as Record<string, unknown> });
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, requestId: res.headers['x-request-id'] as string | undefined });
      res.resume();
    });
    ws.once('error', reject);
  });
}

describe('chat HTTP and WebSocket on one server', () => {
  it('serves Fastify routes and the ws upgrade on the same port', async () => {
    const { http, ws } = await listening();
    const health = await fetch(`${http}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const admitted = await connect(ws, [SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token(7)}`]);
    expect(admitted).toMatchObject({ frame: { type: 'hello', user: { id: 7 } } });
    expect(await connect(ws, [SUBPROTOCOL], { 'x-request-id': 'edge-up-1' })).toEqual({ status: 401, requestId: 'edge-up-1' });
    expect(await connect(ws, [SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token(8)}`], { origin: 'https://evil.example.test' })).toMatchObject({ status: 403 });
    expect(await connect(`${http.replace('http', 'ws')}/elsewhere`, [SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token(9)}`])).toMatchObject({ status: 404 });
    // A plain GET of the socket path is an HTTP request: Fastify's JSON 404.
    const plain = await fetch(`${http}/socket`);
    expect(plain.status).toBe(404);
    expect(await plain.json()).toMatchObject({ error: 'not found' });
  });

  it('refuses upgrades with 503 once draining while HTTP keeps answering', async () => {
    const { http, ws, chat } = await listening();
    chat.stopAcceptingUpgrades();
    expect(await connect(ws, [SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token(7)}`])).toMatchObject({ status: 503 });
    expect((await fetch(`${http}/healthz`)).status).toBe(200);
  });

  it('closes a socket whose user is banned after its session check said ok and before it is attached', async () => {
    const hub: { scripted?: ScriptedHub } = {}; // the server's hub, known once it is started
    const started = await listening({
      sessions: {
        // Postgres answered before the ban; the ban is applied (closing no socket: there is none yet) before the answer lands.
        check: async () => {
          hub.scripted!.setVerdict(() => 'inactive');
          await hub.scripted!.control({ kind: 'user_status', userId: 7, payload: { status: 'banned' } });
          return 'ok';
        },
        checkMany: (keys) => Promise.resolve(keys.map(() => 'ok' as const)),
      },
    });
    hub.scripted = started.scripted;
    const client = new WebSocket(started.ws, [SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token(7)}`]);
    const frames: string[] = [];
    client.on('message', (data: Buffer) => frames.push((JSON.parse(data.toString('utf8')) as { type: string }).type));
    const [code] = (await once(client, 'close')) as [number];
    expect(frames).toEqual(['hello']);
    expect(code).toBe(CloseCode.SessionRevoked);
  });
});
