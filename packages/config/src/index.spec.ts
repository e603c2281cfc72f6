import { describe, expect, it } from 'vitest';
import { ConfigError, estimatedEntropyBits, MIN_SECRET_BITS, parseConfig, port, postgresUrl, secret, z, redactUrlPassword, boolFlag } from './index.ts';

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

describe('secrets', () => {
  const service = z.object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    DATABASE_URL: postgresUrl,
    SESSION_SECRET: secret('SESSION_SECRET'),
  });
  const strong = 'f3c9a1e07b5d4c2e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f';

  it('refuses the published example values in every environment, with one line naming the variable', () => {
    for (const NODE_ENV of ['development', 'production', 'test']) {
      for (const value of ['change-me-change-me-change-me-change-me-0003', 'CHANGEME-please-0123456789abcdefghijkl']) {
        expect(() => parseConfig(service, { NODE_ENV, DATABASE_URL: 'postgres://a@b/c', SESSION_SECRET: value })).toThrowError(
          /^Invalid configuration: SESSION_SECRET is the published example value from the repository, not a secret \(generate one with: openssl rand -hex 32\) \(got "<redacted>"\)$/,
        );
      }
    }
  });

  it('refuses predictable secrets in production only', () => {
    for (const value of ['x'.repeat(40), 'secretsecretsecretsecretsecretsecret', 'abababababababababababababababab']) {
      expect(() => parseConfig(service, { NODE_ENV: 'production', DATABASE_URL: 'postgres://a@b/c', SESSION_SECRET: value })).toThrowError(/SESSION_SECRET is too predictable for NODE_ENV=production/);
      expect(parseConfig(service, { NODE_ENV: 'test', DATABASE_URL: 'postgres://a@b/c', SESSION_SECRET: value }).SESSION_SECRET).toBe(value);
    }
    expect(parseConfig(service, { NODE_ENV: 'production', DATABASE_URL: 'postgres://a@b/c', SESSION_SECRET: strong }).SESSION_SECRET).toBe(strong);
    expect(estimatedEntropyBits(strong)).toBeGreaterThan(MIN_SECRET_BITS);
  });

  it('refuses a database URL with the example password in production, without printing it', () => {
    try {
      parseConfig(service, { NODE_ENV: 'production', DATABASE_URL: 'postgres://parley:change-me@db.internal.example.com:5432/parley', SESSION_SECRET: strong });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toContain('DATABASE_URL uses the published example password');
      expect((err as Error).message).toContain('postgres://parley:***@db.internal.example.com');
    }
  });
});
