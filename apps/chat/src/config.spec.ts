import { describe, expect, it } from 'vitest';
import { parseConfig } from '@parley/config';
import { chatConfigSchema } from './config.ts';
import { hardFrameCap } from './http/server.ts';

const env = { DATABASE_URL: 'postgres://u@localhost/db', INTERNAL_TOKEN: 'i'.repeat(32), CHAT_TOKEN_SECRET: 's'.repeat(32) };

describe('chat config defaults', () => {
  it('pings well under NGINX\'s 60 s idle timeout and keeps the documented limits', () => {
    const c = parseConfig(chatConfigSchema, env);
    expect(c.HEARTBEAT_MS).toBeLessThanOrEqual(30_000);
    expect(c.MAX_MESSAGE_BYTES).toBe(4096);
    expect(c.MAX_FRAME_BYTES).toBeGreaterThan(c.MAX_MESSAGE_BYTES);
    expect(hardFrameCap(c.MAX_FRAME_BYTES)).toBeGreaterThan(c.MAX_FRAME_BYTES);
    // Drain plus shutdown fit in Kubernetes' default 30 s grace period.
    expect(c.DRAIN_DELAY_MS + c.SHUTDOWN_TIMEOUT_MS).toBeLessThan(30_000);
  });
});
