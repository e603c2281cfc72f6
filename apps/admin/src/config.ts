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
  ATTACHMENT_MAX_BYTES: positiveInt(25 * 1024 * 1024, 'a number of bytes')
    .describe('Largest file a person may attach, in bytes (default 25 MB); the edge allows a little more on the upload route'),
  ATTACHMENT_URL_TTL_SECONDS: positiveInt(300, 'a number of seconds').pipe(z.number().max(3600, 'must be at most 3600 seconds'))
    .describe('Lifetime of presigned upload and download URLs (S3 storage; at most 3600)'),
  ATTACHMENT_UNSENT_HOURS: positiveInt(24, 'a number of hours')
    .describe('Uploads never attached to a message are deleted after this long'),
  STORAGE_BACKEND: z.enum(['fs', 's3'], { message: 'must be fs or s3' }).default('fs')
    .describe('Where attachments are kept: `fs` (a folder, `STORAGE_DIR`; one admin replica or a shared volume) or `s3` (an S3-compatible bucket, `S3_*`)'),
  STORAGE_DIR: z.string().min(1).default('.data/attachments')
    .describe('The attachments folder of the `fs` backend (`npm start` uses `.data/attachments`)'),
  S3_BUCKET: z.string().default('').describe('Bucket of the `s3` backend (required with it)'),
  S3_REGION: z.string().min(1).default('us-east-1').describe('Region of the bucket (`auto` for GCS and Cloudflare R2; any value for MinIO)'),
  S3_ENDPOINT: z.string().refine((v) => v === '' || /^https?:\/\/[^\s]+$/.test(v), { message: 'must be empty or an http(s) URL' }).default('')
    .describe('S3 API endpoint; empty = AWS S3. GCS: `https://storage.googleapis.com`; MinIO: `http://minio:9000`'),
  S3_PUBLIC_ENDPOINT: z.string().refine((v) => v === '' || /^https?:\/\/[^\s]+$/.test(v), { message: 'must be empty or an http(s) URL' }).default('')
    .describe("Endpoint put in presigned URLs handed to browsers, when they reach the store elsewhere than `S3_ENDPOINT`; empty = `S3_ENDPOINT`"),
  S3_FORCE_PATH_STYLE: boolFlag(false).describe('Put the bucket in the URL path instead of the host name (MinIO and most self-hosted stores)'),
  S3_ACCESS_KEY_ID: z.string().default('').describe("Access key (GCS: an HMAC key); empty = the SDK's default chain (IRSA / instance role / `AWS_*` variables)"),
  S3_SECRET_ACCESS_KEY: z.string().default('').describe('Secret of `S3_ACCESS_KEY_ID`'),
  S3_KEY_PREFIX: z.string().regex(/^([a-z0-9_-]+\/)*$/i, 'must be empty or path segments ending in /').default('')
    .describe('Prefix of every object key in the bucket (e.g. `parley/`)'),
  S3_PRESIGNED_UPLOADS: boolFlag(true)
    .describe('Browsers upload straight to the bucket with presigned PUT URLs (the bucket needs a CORS rule for `PUBLIC_URL`; without one each upload falls back through admin); off = uploads stream through admin'),
  S3_PRESIGNED_DOWNLOADS: boolFlag(false)
    .describe("Downloads redirect to a short-lived presigned URL (only for a store on another origin than Parley's); off = admin streams them after checking access"),
}).superRefine((c, ctx) => {
  if (c.STORAGE_BACKEND === 's3' && !c.S3_BUCKET) ctx.addIssue({ code: 'custom', path: ['S3_BUCKET'], message: 'must be set when STORAGE_BACKEND is s3' });
  if (Boolean(c.S3_ACCESS_KEY_ID) !== Boolean(c.S3_SECRET_ACCESS_KEY)) ctx.addIssue({ code: 'custom', path: ['S3_SECRET_ACCESS_KEY'], message: 'must be set together with S3_ACCESS_KEY_ID' });
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
