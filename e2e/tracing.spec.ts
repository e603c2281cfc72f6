// Traces across the hops, exported to a real OTLP/HTTP receiver (a small HTTP server here): a request to
// admin with a W3C traceparent (as the edge forwards it) continues that trace in admin, and admin's call
// to chat's internal API (the dashboard's replica stats) continues it in chat; every log line of the request in both services carries
// the trace id; a chat `send` is one trace from the frame through COMMIT to the fan-out.
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { freePort } from '@parley/devtools';
import { chatTokenFor, createChatRoom, createChatUser } from '../packages/devtools/src/chat-fixtures.ts';
import { e2eTest } from './support/fixtures.ts';
import { newUser, PanelClient } from './support/http.ts';
import { TestSocket, waitFor } from './support/ws-client.ts';

interface ReceivedSpan { service: string; traceId: string; spanId: string; parentSpanId: string; name: string }

const receiverPort = await freePort();
const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiverPort}`, OTEL_BSP_SCHEDULE_DELAY: '100' };
const test = e2eTest({ label: 'tracing', stack: { adminEnv: otel, chatEnv: otel } });
let receiver: Server;
const spans: ReceivedSpan[] = [];
const contentTypes = new Set<string>();

/** OTLP/JSON ids are hex; accept base64 too (the protobuf-JSON mapping). */
const hexId = (v: string | undefined) => (!v ? '' : /^[0-9a-f]+$/i.test(v) ? v.toLowerCase() : Buffer.from(v, 'base64').toString('hex'));

// The receiver first: beforeAll hooks run in order, and the one further down starts the services.
beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      contentTypes.add(String(req.headers['content-type']));
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }; scopeSpans: Array<{ spans: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string }> }> }> };
        for (const rs of body.resourceSpans) {
          const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ service, traceId: hexId(s.traceId), spanId: hexId(s.spanId), parentSpanId: hexId(s.parentSpanId), name: s.name });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(receiverPort, '127.0.0.1', r));
});

afterAll(async () => {
  await new Promise((r) => receiver?.close(r));
});

// The services start here, after the receiver, in a hook (hook timeout) rather than in the first test's time.
test.beforeAll(({ stack }) => void stack);

describe('OpenTelemetry tracing (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  test('continues the edge\'s traceparent through admin into chat\'s internal API, and tags every log line of the request', async ({ db, stack }) => {
    const client = new PanelClient(stack.adminUrl);
    const user = newUser('tracer');
    await client.signUp(user);
    // Staff see the dashboard, which asks chat for its replica stats (admin → chat internal API).
    await db.pool.query("UPDATE users SET role = 'admin' WHERE email = $1", [user.email]);
    const traceId = randomBytes(16).toString('hex');
    const edgeSpanId = randomBytes(8).toString('hex');
    const requestId = `trace-e2e-${randomBytes(4).toString('hex')}`;
    const res = await client.request('/admin/dashboard', { headers: { accept: 'text/html', traceparent: `00-${traceId}-${edgeSpanId}-01`, 'x-request-id': requestId } });
    expect(res.status).toBe(200);
    await waitFor(() => ['parley-admin', 'parley-chat'].every((svc) => spans.some((s) => s.traceId === traceId && s.service === svc)), 'the admin and chat spans of the trace', 15_000);
    const admin = spans.find((s) => s.traceId === traceId && s.service === 'parley-admin');
    const chat = spans.find((s) => s.traceId === traceId && s.service === 'parley-chat');
    expect(admin).toMatchObject({ name: 'GET /admin/dashboard', parentSpanId: edgeSpanId });
    expect(chat).toMatchObject({ name: 'GET /internal/stats', parentSpanId: admin!.spanId });
    expect([...contentTypes]).toContain('application/json');

    const linesOf = (output: string[]) => output.filter((l) => l.includes(`"reqId":"${requestId}"`));
    const adminLines = linesOf(stack.admin!.output);
    const chatLines = stack.chats.flatMap((c) => linesOf(c.process.output));
    expect(adminLines.length, stack.logs()).toBeGreaterThanOrEqual(2); // incoming request … request completed
    expect(chatLines.length, stack.logs()).toBeGreaterThanOrEqual(1);
    for (const line of [...adminLines, ...chatLines]) {
      expect((JSON.parse(line) as { trace_id?: string }).trace_id, line).toBe(traceId);
      expect(line.split('"trace_id"').length, `one trace_id key: ${line}`).toBe(2);
    }
  });

  test('traces a chat send from the frame through COMMIT to the fan-out', async ({ db, stack }) => {
    const ann = await createChatUser(db.pool, 'ann');
    const room = await createChatRoom(db.pool, { members: [ann] });
    const s = await TestSocket.open(stack.chats[0]!.wsUrl, chatTokenFor(ann, stack.secrets.CHAT_TOKEN_SECRET));
    try {
      s.send({ type: 'join', room });
      await s.next('caught_up', (f) => f.room === room);
      s.send({ type: 'send', room, clientId: 'traced-1', body: 'hello traces' });
      await s.next('ack', (f) => f.clientId === 'traced-1');
    } finally {
      s.close();
    }
    await waitFor(() => spans.some((x) => x.name === 'chat fan-out'), 'the fan-out span', 15_000);
    const send = spans.find((x) => x.name === 'chat send')!;
    const commit = spans.find((x) => x.name === 'chat commit' && x.traceId === send.traceId);
    const fanout = spans.find((x) => x.name === 'chat fan-out' && x.traceId === send.traceId);
    expect(send.service).toBe('parley-chat');
    expect(commit?.parentSpanId).toBe(send.spanId);
    expect(fanout?.parentSpanId).toBe(send.spanId);
  });
});
