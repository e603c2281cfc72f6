import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, port, postgresUrl, secret, z, redactUrlPassword, boolFlag } from './index.ts';

const schema = z.object({
  PORT: port(8080),
  DATABASE_URL: postgresUrl,
  SESSION_SECRET: secret('SESSION_SECRET'),
  FLAG: boolFlag(false),
});

describe('parseConfig', () => {
  it('applies defaults and coerces values', () => {
    const cfg = parseConfig(schema, { DATABASE_URL: 'postgres://a@b/c', SESSION_SECRET: 'x'.repeat(32), FLAG: 'yes' });
    expect(cfg).toEqual({ PORT: 8080, DATABASE_URL: 'postgres://a@b/c', SESSION_SECRET: 'x'.repeat(32), FLAG: true });
  });

  it('names the variable and what it expects', () => {
    expect(() => parseConfig(schema, { PORT: 'eighty', DATABASE_URL: 'mysql://x', SESSION_SECRET: 'short' })).toThrowError(ConfigError);
    try {
      parseConfig(schema, { PORT: '70000', DATABASE_URL: 'mysql://x', SESSION_SECRET: 'short' });
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toContain('PORT must be a TCP port number');
      expect(message).toContain('DATABASE_URL must be a postgres://');
      expect(message).toContain('SESSION_SECRET must be at least 32 characters');
      expect(message).not.toContain('short'); // secrets are never echoed
    }
  });

  it('reports a missing required variable', () => {
    expect(() => parseConfig(schema, { SESSION_SECRET: 'x'.repeat(32) })).toThrowError(/DATABASE_URL .*it is not set/);
  });
});

describe('redactUrlPassword', () => {
  it('hides the password of a URL', () => {
    expect(redactUrlPassword('postgres://app:hunter2@db:5432/parley')).toBe('postgres://app:***@db:5432/parley');
    expect(redactUrlPassword('postgres://app@db/parley')).toBe('postgres://app@db/parley');
  });
});
