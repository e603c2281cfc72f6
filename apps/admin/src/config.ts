import { boolFlag, httpUrl, positiveInt, secret, serviceBaseSchema, z } from '@parley/config';

export const adminConfigSchema = serviceBaseSchema.extend({
  /** WebSocket URL the browser connects to; empty means same origin at /socket (behind the edge). */
  CHAT_PUBLIC_URL: z.string().refine((v) => v === '' || /^wss?:\/\/[^\s]+$/.test(v), { message: 'must be empty or a ws:// or wss:// URL' }).default(''),
  CHAT_INTERNAL_URL: httpUrl('http://chat:8080'),
  CHAT_TOKEN_TTL_SECONDS: positiveInt(60, 'a number of seconds'),
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
