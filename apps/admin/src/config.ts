import { boolFlag, httpUrl, positiveInt, secret, serviceBaseSchema, z } from '@parley/config';

export const adminConfigSchema = serviceBaseSchema.extend({
  /** WebSocket URL the browser connects to; empty means same origin at /socket (behind the edge). */
  CHAT_PUBLIC_URL: z.string().refine((v) => v === '' || /^wss?:\/\/[^\s]+$/.test(v), { message: 'must be empty or a ws:// or wss:// URL' }).default(''),
  CHAT_INTERNAL_URL: httpUrl('http://chat:8080'),
  /**
   * Chat tokens are verified without a round trip and a revoked session's tokens are refused for as long
   * as control events are kept: keep them short (at most 5 minutes).
   */
  CHAT_TOKEN_TTL_SECONDS: positiveInt(60, 'a number of seconds').pipe(z.number().max(300, 'must be at most 300 seconds')),
  /** How long control events are kept (at least 1 hour: far beyond chat's poll interval and token lifetime). */
  CONTROL_EVENT_RETENTION_HOURS: positiveInt(24 * 7, 'a number of hours').pipe(z.number().min(1, 'must be at least 1 hour')),
  SESSION_SECRET: secret('SESSION_SECRET'),
  SESSION_TTL_HOURS: positiveInt(24 * 14, 'a number of hours'),
  /** Which proxies' X-Forwarded-* headers to trust: false, a hop count, or comma-separated IPs/CIDRs. */
  TRUST_PROXY: z.string().default('false'),
  PARLEY_ADMIN_EMAIL: z.string().email('must be an email address').optional(),
  PARLEY_ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  LOGIN_RATE_PER_IP: positiveInt(20, 'a number of attempts per 15 minutes'),
  LOGIN_RATE_PER_ACCOUNT: positiveInt(5, 'a number of failed attempts per 15 minutes'),
  SECURE_COOKIES: boolFlag(false),
});

export type AdminConfig = z.infer<typeof adminConfigSchema>;

export function trustProxyValue(raw: string): boolean | string[] | ((addr: string, hop: number) => boolean) {
  const v = raw.trim();
  if (v === '' || v === 'false') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    return (_addr, hop) => hop < hops;
  }
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}
