import { boolFlag, httpUrl, positiveInt, secret, serviceBaseSchema, z } from '@parley/config';
import { passwordProblem } from './features/auth/password-policy.ts';

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
  /** A session ends this long after login however active it is (SESSION_TTL_HOURS is the idle limit). */
  SESSION_ABSOLUTE_HOURS: positiveInt(24 * 30, 'a number of hours'),
  /** Which proxies' X-Forwarded-* headers to trust: false, a hop count, or comma-separated IPs/CIDRs. */
  TRUST_PROXY: z.string().default('false'),
  PARLEY_ADMIN_EMAIL: z.string().email('must be an email address').optional(),
  PARLEY_ADMIN_PASSWORD: z
    .string()
    .superRefine((value, ctx) => {
      const problem = passwordProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: `is too weak: ${problem}` });
    })
    .optional(),
  LOGIN_RATE_PER_IP: positiveInt(20, 'a number of attempts per 15 minutes'),
  /** Failed logins per account from one client (device cookie, else IP) before that client waits. */
  LOGIN_RATE_PER_ACCOUNT: positiveInt(5, 'a number of failed attempts per 15 minutes'),
  /** Failed logins per account from all clients without a device cookie of that account together. */
  LOGIN_RATE_PER_ACCOUNT_UNTRUSTED: positiveInt(50, 'a number of failed attempts per 15 minutes'),
  SIGNUP_RATE_PER_IP: positiveInt(20, 'a number of sign-ups per hour'),
  ROOM_CREATE_RATE_PER_USER: positiveInt(20, 'a number of rooms per hour'),
  DM_CREATE_RATE_PER_USER: positiveInt(60, 'a number of direct conversations opened per hour'),
  PASSWORD_CHANGE_RATE_PER_USER: positiveInt(5, 'a number of attempts per hour'),
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
