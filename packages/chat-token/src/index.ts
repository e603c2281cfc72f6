// Short-lived chat tokens: admin mints one for a logged-in session; chat verifies it locally with the
// shared CHAT_TOKEN_SECRET. Chat therefore needs no round-trip to admin per (re)connect, so a reconnect
// storm after a deploy does not hammer admin, and chat keeps accepting reconnects while admin restarts.
// Revocation is immediate anyway: admin tells every chat replica to close the session's sockets and
// to refuse its outstanding tokens until they expire (see apps/chat revocations).
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface ChatTokenClaims {
  /** user id */
  uid: number;
  /** a stable, non-secret id of the admin session (not the cookie value) */
  sid: string;
  handle: string;
  name: string;
  role: 'user' | 'moderator' | 'admin';
  /**
   * When the admin session reaches its absolute lifetime (SESSION_ABSOLUTE_HOURS), epoch seconds: the
   * token is refused after it, and chat closes sockets opened with it then (however active they are).
   */
  sexp?: number;
  /** issued at, epoch seconds */
  iat: number;
  /** expires at, epoch seconds */
  exp: number;
}

export type VerifyResult = { ok: true; claims: ChatTokenClaims } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

const b64 = (buf: Buffer | string) => Buffer.from(buf).toString('base64url');

export function signChatToken(claims: Omit<ChatTokenClaims, 'iat' | 'exp'>, secret: string, ttlSeconds = 60, now = Date.now()): string {
  const iat = Math.floor(now / 1000);
  const payload = b64(JSON.stringify({ ...claims, iat, exp: iat + ttlSeconds }));
  const mac = createHmac('sha256', secret).update(payload).digest('base64url');
  // Only characters valid in a Sec-WebSocket-Protocol token: [A-Za-z0-9-_.]
  return `${payload}.${mac}`;
}

export function verifyChatToken(token: string, secret: string, now = Date.now()): VerifyResult {
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) return { ok: false, reason: 'malformed' };
  const payload = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = createHmac('sha256', secret).update(payload).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad_signature' };
  let claims: ChatTokenClaims;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as ChatTokenClaims;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof claims.uid !== 'number' || typeof claims.sid !== 'string' || typeof claims.exp !== 'number') return { ok: false, reason: 'malformed' };
  if (claims.exp * 1000 <= now) return { ok: false, reason: 'expired' };
  if (claims.sexp !== undefined && (typeof claims.sexp !== 'number' || claims.sexp * 1000 <= now)) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
}
