// Admin while its session store (Redis) is down: a clear 503 (page for browsers, JSON for the API, with
// Retry-After) instead of a 500, no process exit, readiness false, and each outage logged once rather
// than per request. Redis runs with persistence (append-only file, as in the StatefulSet and npm run
// stack), so after it restarts the same session cookie still works and chat tokens are minted again.
import { describe, expect } from 'vitest';
import type { RedisServer, Stack } from '@parley/devtools';
import { e2eTest } from './support/fixtures.ts';
import { newUser, PanelClient } from './support/http.ts';

const test = e2eTest({ label: 'outage_admin', redis: { own: { persistent: true } }, stack: { chatReplicas: 1 } });
let redis: RedisServer;
let stack: Stack;

// Module-level helpers read the file's fixtures through these.
test.beforeAll(({ ownRedis: r, stack: s }) => void ([redis, stack] = [r!, s]));

const adminLines = (pattern: RegExp) => stack.admin!.output.filter((l) => pattern.test(l));

describe('admin with its session store down', () => {
  test('answers 503 (page and JSON, Retry-After) while Redis is down, stays up, and keeps sessions across the restart', async () => {
    const panel = new PanelClient(stack.adminUrl);
    const user = newUser('outage');
    await panel.signUp(user); // signs in too
    await panel.chatToken();

    await redis.stop();
    const api = await panel.request('/api/chat-token', { headers: { accept: 'application/json' } });
    expect(api.status).toBe(503);
    expect(api.headers.get('retry-after')).toBe('5');
    const body = (await api.json()) as { error: string; statusCode: number; requestId: string };
    expect(body).toMatchObject({ statusCode: 503 });
    expect(body.error).toMatch(/try again in a few seconds/);

    const page = await panel.request('/', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(503);
    const html = await page.text();
    expect(html).toContain('Parley is briefly unavailable');
    expect(html).not.toMatch(/\bat .*\.(js|ts):\d+|Error:|ECONNREFUSED|MaxRetries/); // no stack, no internals

    for (let i = 0; i < 9; i++) expect((await panel.request('/api/chat-token')).status).toBe(503);
    // Logging in needs Redis too (login limiter, new session): refused with 503, not a 500.
    expect((await new PanelClient(stack.adminUrl).logIn(user.email, user.password)).status).toBe(503);
    const ready = await fetch(`${stack.adminUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, boolean> }).checks).toMatchObject({ sessions: false, database: true });

    // Logged once, not per request (12 requests answered 503 so far).
    expect(adminLines(/answering 503/)).toHaveLength(1);
    expect(adminLines(/"redis unavailable/)).toHaveLength(1);
    expect(adminLines(/"level":"error"/)).toEqual([]);
    expect(stack.admin!.child.exitCode).toBeNull();

    await redis.start();
    const deadline = Date.now() + 20_000;
    while ((await fetch(`${stack.adminUrl}/readyz`)).status !== 200) {
      if (Date.now() > deadline) throw new Error('admin did not become ready again after Redis came back');
      await new Promise((r) => setTimeout(r, 100));
    }
    // The same cookie is still a session: Redis kept it in its append-only file.
    await panel.chatToken();
    const home = await panel.request('/', { headers: { accept: 'text/html' } });
    expect(home.status).toBeLessThan(400);
    expect(home.headers.get('location') ?? '').not.toContain('/login');
    expect(adminLines(/redis available again/)).toHaveLength(1);
  });
});
