import { boolFlag, httpUrl, positiveInt, secret, serviceBaseSchema, z } from '@parley/config';
import { passwordProblem } from './features/auth/password-policy.ts';

export const adminConfigSchema = serviceBaseSchema.extend({
  SESSION_SECRET: secret('SESSION_SECRET').describe('Signs the CSRF and device cookies (≥ 32 characters)'),
  SESSION_TTL_HOURS: positiveInt(24 * 14, 'a number of hours').describe('Idle lifetime of a session (sliding)'),
  SESSION_ABSOLUTE_HOURS: positiveInt(24 * 30, 'a number of hours')
    .describe('A session ends this long after login, however active (`SESSION_TTL_HOURS` is the idle limit; enforced by the session store and carried in chat tokens)'),
  CHAT_INTERNAL_URL: httpUrl('http://chat:8080').describe("Chat's internal API (Kubernetes service name)"),
  CHAT_PUBLIC_URL: z.string().refine((v) => v === '' || /^wss?:\/\/[^\s]+$/.test(v), { message: 'must be empty or a ws:// or wss:// URL' }).default('')
    .describe('WebSocket URL for browsers; empty = same origin `/socket` (behind the edge)'),
  // Chat tokens are verified without a round trip and a revoked session's tokens are refused for as long
  // as control events are kept: keep them short.
  CHAT_TOKEN_TTL_SECONDS: positiveInt(60, 'a number of seconds').pipe(z.number().max(300, 'must be at most 300 seconds'))
    .describe('Lifetime of a chat token (at most 300)'),
  // At least 1 hour: far beyond chat's poll interval and token lifetime.
  CONTROL_EVENT_RETENTION_HOURS: positiveInt(24 * 7, 'a number of hours').pipe(z.number().min(1, 'must be at least 1 hour'))
    .describe('How long admin keeps control events before pruning them (at least 1)'),
  TRUST_PROXY: z.string().default('false')
    .describe("Whose `X-Forwarded-*` headers to trust: `false`, a hop count, or comma-separated IPs/CIDRs (the edge's)"),
  SECURE_COOKIES: boolFlag(false)
    .describe('Serve cookies as over TLS. With it, or an `https://` `PUBLIC_URL`, every cookie is `Secure` and named `__Host-…`; otherwise plain names, `Secure` when the request came over TLS'),
  PARLEY_ADMIN_EMAIL: z.string().email('must be an email address').optional()
    .describe('With `PARLEY_ADMIN_PASSWORD`: create this admin account at start if it does not exist'),
  PARLEY_ADMIN_PASSWORD: z
    .string()
    .superRefine((value, ctx) => {
      const problem = passwordProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: `is too weak: ${problem}` });
    })
    .optional()
    .describe("The first admin's password (it must pass the same strength check as everyone's: ≥ 12 characters, zxcvbn score ≥ 3)"),
  LOGIN_RATE_PER_IP: positiveInt(20, 'a number of attempts per 15 minutes').describe('Login attempts per IP per 15 minutes, all accounts together'),
  LOGIN_RATE_PER_ACCOUNT: positiveInt(5, 'a number of failed attempts per 15 minutes')
    .describe("Failed logins per account **from one client** (its device cookie, set at a successful login, else its IP) per 15 minutes before that client gets 429; the owner's other browsers and networks are not locked"),
  LOGIN_RATE_PER_ACCOUNT_UNTRUSTED: positiveInt(50, 'a number of failed attempts per 15 minutes')
    .describe("Failed logins per account per 15 minutes from all clients without that account's device cookie together (password spraying from many IPs); browsers with the device cookie still log in"),
  SIGNUP_RATE_PER_IP: positiveInt(20, 'a number of sign-ups per hour').describe('Sign-up attempts per IP per hour'),
  ROOM_CREATE_RATE_PER_USER: positiveInt(20, 'a number of rooms per hour').describe('Room creations per user per hour'),
  DM_CREATE_RATE_PER_USER: positiveInt(60, 'a number of direct conversations opened per hour').describe('Direct conversations opened per user per hour'),
  PASSWORD_CHANGE_RATE_PER_USER: positiveInt(5, 'a number of attempts per hour').describe('Password change attempts per user per hour'),
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
