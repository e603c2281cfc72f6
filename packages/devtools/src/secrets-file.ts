// Secrets of a local run (npm start, npm run stack), generated once and kept in a JSON file of their own
// under the data directory, readable by its owner only, so restarts keep sessions and chat tokens valid.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { ServiceSecrets } from './service-env.ts';

/** A fresh secret: 32 random bytes, hex (what `openssl rand -hex 32` gives). */
export function randomSecret(): string {
  return randomBytes(32).toString('hex');
}

/** A fresh set of the services' secrets (for a run that keeps nothing). */
export function randomServiceSecrets(): ServiceSecrets {
  return { INTERNAL_TOKEN: randomSecret(), CHAT_TOKEN_SECRET: randomSecret(), SESSION_SECRET: randomSecret() };
}

/**
 * The values saved in `file` (JSON), with every name of `make` that is missing made now and saved too.
 * Names in the file that `make` does not list are kept as they are.
 */
export function keptSecrets<K extends string>(file: string, make: Record<K, () => string>): Record<K, string> {
  const saved = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
  for (const name of Object.keys(make) as K[]) saved[name] ??= make[name]();
  writeFileSync(file, JSON.stringify(saved, null, 2), { mode: 0o600 });
  return saved;
}

/** The services' secrets kept in `file` (made on first use). */
export function keptServiceSecrets(file: string): ServiceSecrets {
  const s = keptSecrets(file, { INTERNAL_TOKEN: randomSecret, CHAT_TOKEN_SECRET: randomSecret, SESSION_SECRET: randomSecret });
  return { INTERNAL_TOKEN: s.INTERNAL_TOKEN, CHAT_TOKEN_SECRET: s.CHAT_TOKEN_SECRET, SESSION_SECRET: s.SESSION_SECRET };
}
