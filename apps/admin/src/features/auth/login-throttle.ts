// Login lockout that cannot be turned against the account's owner (OWASP "device cookies"):
// failures are counted per account AND client. A client is a device cookie this browser received
// after logging in to that account, or else its IP. Five wrong passwords from an attacker lock the
// attacker's client out of that account, not the owner's browser or another network. Clients without
// a device cookie of the account also share one larger budget, so many IPs cannot guess without end;
// the owner's own browser keeps working even then. The per-IP limit over all accounts stays in front.
import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdminConfig } from '../../config.ts';
import type { AttemptLimiter } from './attempt-limiter.ts';
import { counterStoreUnavailable } from './abuse-limits.ts';

const DEVICE_COOKIE_DAYS = 365;

export interface LoginClient {
  /** This client's failure counter for the account. */
  key: string;
  /** The shared counter of every client without a device cookie for the account (null when trusted). */
  untrustedKey: string | null;
}

export class LoginThrottle {
  constructor(
    private readonly limiter: AttemptLimiter,
    private readonly config: Pick<AdminConfig, 'SESSION_SECRET' | 'LOGIN_RATE_PER_ACCOUNT' | 'LOGIN_RATE_PER_ACCOUNT_UNTRUSTED'>,
  ) {}

  /** Who is trying: the device cookie's id when it was issued for this account, else the IP. */
  client(req: FastifyRequest, email: string): LoginClient {
    const device = this.deviceId(req, email);
    const account = `acct:${this.tag(email)}`;
    if (device) return { key: `${account}:dev:${device}`, untrustedKey: null };
    return { key: `${account}:ip:${req.ip}`, untrustedKey: `${account}:untrusted` };
  }

  /** Milliseconds this client must wait before trying this account again, 0 when it may try now. */
  async blockedFor(client: LoginClient): Promise<number> {
    return counted(async () => {
      const own = await this.limiter.blockedFor(client.key, this.config.LOGIN_RATE_PER_ACCOUNT);
      const shared = client.untrustedKey ? await this.limiter.blockedFor(client.untrustedKey, this.config.LOGIN_RATE_PER_ACCOUNT_UNTRUSTED) : 0;
      return Math.max(own, shared);
    });
  }

  async failed(client: LoginClient): Promise<number> {
    return counted(async () => (await Promise.all([this.limiter.fail(client.key), client.untrustedKey ? this.limiter.fail(client.untrustedKey) : 0]))[0]);
  }

  /** After a correct password: this client's slate is clean, and it is now a trusted device. */
  async succeeded(req: FastifyRequest, reply: FastifyReply, client: LoginClient, email: string): Promise<void> {
    await counted(() => this.limiter.reset(client.key));
    const id = this.deviceId(req, email) ?? randomBytes(16).toString('base64url');
    const policy = req.server.cookiePolicy;
    reply.setCookie(policy.device, `${this.tag(email)}.${id}`, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: policy.secure,
      signed: true,
      maxAge: DEVICE_COOKIE_DAYS * 24 * 3600,
    });
  }

  private deviceId(req: FastifyRequest, email: string): string | null {
    const raw = req.cookies[req.server.cookiePolicy.device];
    if (!raw) return null;
    const unsigned = req.unsignCookie(raw);
    if (!unsigned.valid || !unsigned.value) return null;
    const [tag, id] = unsigned.value.split('.');
    return tag === this.tag(email) && id && /^[A-Za-z0-9_-]{16,64}$/.test(id) ? id : null;
  }

  /** The account's name in keys and cookies: keyed, so neither shows the e-mail address. */
  private tag(email: string): string {
    return createHmac('sha256', this.config.SESSION_SECRET).update(`login:${email.trim().toLowerCase()}`).digest('base64url').slice(0, 22);
  }
}

/** Counter store errors (Redis down) become a 503: no login without the lockout, and no 500. */
async function counted<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch {
    throw counterStoreUnavailable();
  }
}
