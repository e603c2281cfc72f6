// Chat's Fastify half through `inject` (no socket): request ids, the access log line, the RED metric,
// route schemas, 401/404/413 answers and the 5xx policy, against a real hub on scripted storage.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { INTERNAL_TOKEN as TOKEN, startChatHttp } from './server-test-kit.ts';
import type { ServerDeps } from './server.ts';
import { MAX_INTERNAL_BODY } from './internal-routes.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function start(overrides: Partial<ServerDeps> = {}) {
  const started = await startChatHttp(overrides);
  stops.push(started.stop);
  return started;
}

const accessLines = (lines: Array<Record<string, unknown>>) => lines.filter((l) => l.msg === 'http request');

describe('chat HTTP (Fastify)', () => {
  it('keeps a sane edge request id, replaces a hostile one, and logs one access line carrying it (path only)', async () => {
    const { app, settled } = await start();
    const kept = await app.inject({ url: '/internal/stats?email=someone@example.test', headers: { 'x-internal-token': TOKEN, 'x-request-id': 'edge-req-42' } });
    expect(kept.statusCode).toBe(200);
    expect(kept.headers['x-request-id']).toBe('edge-req-42');
    const replaced = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'bad id\r\nx' } });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const lines = accessLines(await settled());
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 30, reqId: 'edge-req-42', method: 'GET', route: '/internal/stats', status: 200 });
    expect(typeof lines[0]!.ms).toBe('number');
    expect(JSON.stringify(lines)).not.toContain('someone@example.test');
    // Probes are logged at debug only, so an info-level replica does not log every probe.
    expect(lines[1]).toMatchObject({ level: 20, reqId: replaced.headers['x-request-id'], route: '/healthz' });
  });

  it('records every request in parley_http_request_duration_seconds by route template, method and status class', async () => {
    const { app } = await start();
    await app.inject({ url: '/internal/stats', headers: { 'x-internal-token': TOKEN } });
    await app.inject({ url: '/internal/stats' });
    await app.inject({ url: '/no/such/path/12345' });
    const metrics = (await app.inject({ url: '/metrics' })).body;
    const count = (labels: string) => Number(new RegExp(`^parley_http_request_duration_seconds_count\\{${labels}\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect(count('route="/internal/stats",method="GET",status_class="2xx"')).toBe(1);
    expect(count('route="/internal/stats",method="GET",status_class="4xx"')).toBe(1);
    expect(count('route="unmatched",method="GET",status_class="4xx"')).toBe(1);
    expect(metrics).not.toContain('12345');
  });

  it('answers an unknown route with a JSON 404; under /internal/ only a caller with the token learns that', async () => {
    const { app } = await start();
    const missing = await app.inject({ url: '/nope', headers: { 'x-request-id': 'r-404' } });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/json/);
    expect(missing.json()).toEqual({ error: 'not found', requestId: 'r-404' });
    expect((await app.inject({ url: '/internal/kick', method: 'POST' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/internal/kick', method: 'POST', headers: { 'x-internal-token': TOKEN } })).statusCode).toBe(404);
    // The router decodes %-escapes: the token is still required for the route it matches.
    expect((await app.inject({ url: '/%69nternal/stats' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/internal/stats', headers: { 'x-internal-token': 'x'.repeat(TOKEN.length) } })).statusCode).toBe(401);
  });

  it('rings the control plane on a poke with any (small) body, and answers 413 to an oversized one without ringing', async () => {
    const { app, hub } = await start();
    const poke = vi.spyOn(hub.control, 'poke');
    const headers = { 'x-internal-token': TOKEN };
    expect((await app.inject({ method: 'POST', url: '/internal/control/poke', headers })).statusCode).toBe(202);
    expect((await app.inject({ method: 'POST', url: '/internal/control/poke', headers: { ...headers, 'content-type': 'application/json' }, payload: '{}' })).json()).toEqual({ ok: true });
    expect((await app.inject({ method: 'POST', url: '/internal/control/poke', headers: { ...headers, 'content-type': 'text/plain' }, payload: 'ring' })).statusCode).toBe(202);
    expect(poke).toHaveBeenCalledTimes(3);
    const big = await app.inject({ method: 'POST', url: '/internal/control/poke', headers: { ...headers, 'content-type': 'application/json', 'x-request-id': 'r-413' }, payload: JSON.stringify({ padding: 'x'.repeat(MAX_INTERNAL_BODY) }) });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toEqual({ error: `request body larger than ${MAX_INTERNAL_BODY} bytes`, requestId: 'r-413' });
    expect(poke).toHaveBeenCalledTimes(3);
  });

  it('hides a 5xx\'s message behind the request id and logs it once', async () => {
    const { app, settled } = await start({ readiness: () => Promise.reject(new Error('connect to 10.1.2.3 as parley failed: password=hunter2')) });
    const res = await app.inject({ url: '/readyz', headers: { 'x-request-id': 'r-500' } });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: 'internal error', requestId: 'r-500' });
    expect(res.body).not.toContain('hunter2');
    const lines = await settled();
    const mentions = lines.filter((l) => JSON.stringify(l).includes('hunter2'));
    expect(mentions).toHaveLength(1);
    expect(mentions[0]).toMatchObject({ level: 50, reqId: 'r-500', msg: 'request failed' });
    expect(accessLines(lines)).toMatchObject([{ reqId: 'r-500', route: '/readyz', status: 500 }]);
  });

  it('reports readiness (fan-out does not gate it) and stats through their response schemas without dropping a field', async () => {
    let checks = { database: true, fanout: false, accepting: true };
    const { app, hub } = await start({ readiness: () => Promise.resolve(checks) });
    expect((await app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready', checks });
    checks = { database: false, fanout: true, accepting: true };
    const down = await app.inject({ url: '/readyz' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toEqual({ status: 'not ready', checks });
    const stats = (await app.inject({ url: '/internal/stats', headers: { 'x-internal-token': TOKEN } })).json<ReturnType<typeof hub.stats>>();
    const direct = hub.stats();
    expect(Object.keys(stats).sort()).toEqual(Object.keys(direct).sort());
    expect(stats.counters).toEqual(direct.counters);
    expect(Object.keys(stats.replicas[0]!).sort()).toEqual(Object.keys(direct.replicas[0]!).sort());
    expect(stats.replicas[0]).toMatchObject({ replica: 'r1', connections: 0, draining: false });
  });
});
