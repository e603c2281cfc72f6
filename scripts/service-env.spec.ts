// The launchers' environment builder (packages/devtools/src/service-env.ts) against the schemas the
// services validate with: what it builds starts each service, and it sets nothing a service does not read
// (a variable left over after its reader is gone fails here).
import { describe, expect, it } from 'vitest';
import { parseConfig } from '@parley/config';
import { migrateConfigSchema } from '@parley/db';
import { randomServiceSecrets, serviceEnv, type Deployment, type ProcessSpec } from '@parley/devtools';
import { adminConfigSchema } from '../apps/admin/src/config.ts';
import { chatConfigSchema } from '../apps/chat/src/config.ts';

const deployment: Deployment = {
  nodeEnv: 'production',
  logLevel: 'warn',
  databaseUrl: 'postgres://parley:pw@127.0.0.1:5432/parley',
  redisUrl: 'redis://127.0.0.1:6379',
  redisPrefix: 'parley-x:',
  publicUrl: 'https://localhost:8443',
  secrets: randomServiceSecrets(),
  host: '127.0.0.1',
};

const cases: [string, ProcessSpec, typeof adminConfigSchema | typeof chatConfigSchema | typeof migrateConfigSchema][] = [
  ['admin', { service: 'admin', port: 3000, chatInternalUrl: 'http://127.0.0.1:3001', chatPublicUrl: '', trustProxy: '127.0.0.1', firstAdmin: { email: 'admin@parley.local', password: 'correct horse battery staple 7' } }, adminConfigSchema],
  ['chat', { service: 'chat', port: 3001, replicaId: 'chat-0', allowedOrigins: ['https://localhost:8443', 'https://127.0.0.1:8443'], drainDelayMs: 0, shutdownTimeoutMs: 5000 }, chatConfigSchema],
  ['migrate', { service: 'migrate', connectTimeoutMs: 10_000 }, migrateConfigSchema],
];

describe('serviceEnv', () => {
  it.each(cases)('builds an environment %s accepts, with nothing it does not read', (_name, spec, schema) => {
    const env = serviceEnv(deployment, spec);
    expect(() => parseConfig(schema, env)).not.toThrow();
    expect(Object.keys(env).filter((key) => !(key in schema.shape))).toEqual([]);
  });

  it('gives each service its own settings from the one description', () => {
    const admin = parseConfig(adminConfigSchema, serviceEnv(deployment, cases[0]![1]));
    const chat = parseConfig(chatConfigSchema, serviceEnv(deployment, cases[1]![1]));
    expect([admin.PORT, admin.HOST, admin.CHAT_INTERNAL_URL, admin.TRUST_PROXY, admin.PARLEY_ADMIN_EMAIL]).toEqual([3000, '127.0.0.1', 'http://127.0.0.1:3001', '127.0.0.1', 'admin@parley.local']);
    expect([chat.PORT, chat.REPLICA_ID, chat.ALLOWED_ORIGINS, chat.DRAIN_DELAY_MS, chat.SHUTDOWN_TIMEOUT_MS]).toEqual([3001, 'chat-0', 'https://localhost:8443,https://127.0.0.1:8443', 0, 5000]);
    for (const c of [admin, chat]) {
      expect([c.DATABASE_URL, c.REDIS_URL, c.REDIS_KEY_PREFIX, c.PUBLIC_URL, c.CHAT_TOKEN_SECRET]).toEqual([deployment.databaseUrl, deployment.redisUrl, 'parley-x:', deployment.publicUrl, deployment.secrets.CHAT_TOKEN_SECRET]);
    }
  });

  it('leaves Redis unset in embedded mode', () => {
    const env = serviceEnv({ ...deployment, redisUrl: undefined, redisPrefix: undefined }, cases[1]![1]);
    expect(env.REDIS_URL).toBeUndefined();
    expect(env.REDIS_KEY_PREFIX).toBeUndefined();
  });
});
