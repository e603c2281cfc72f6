import { describe, expect, it } from 'vitest';
import { signChatToken, verifyChatToken } from './index.ts';

const secret = 'a'.repeat(32);
const claims = { uid: 7, sid: 'abc', handle: 'ann', name: 'Ann', role: 'user' as const };

describe('chat tokens', () => {
  it('round-trips claims and uses only subprotocol-safe characters', () => {
    const token = signChatToken(claims, secret, 60, 1_000_000);
    expect(token).toMatch(/^[A-Za-z0-9_.-]+$/);
    const result = verifyChatToken(token, secret, 1_000_000);
    expect(result.ok && result.claims).toMatchObject({ ...claims, iat: 1000, exp: 1060 });
  });

  it('rejects a tampered payload, a wrong secret and an expired token', () => {
    const token = signChatToken(claims, secret, 60, 1_000_000);
    const [payload, mac] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims, uid: 1, iat: 1000, exp: 1060 })).toString('base64url');
    expect(verifyChatToken(`${forged}.${mac}`, secret, 1_000_000)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyChatToken(token, 'b'.repeat(32), 1_000_000)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyChatToken(token, secret, 1_061_000)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyChatToken(`${payload}`, secret)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a token after its session\'s absolute end (sexp), even while the token itself is fresh', () => {
    const token = signChatToken({ ...claims, sexp: 1_030 }, secret, 60, 1_000_000);
    expect(verifyChatToken(token, secret, 1_029_000).ok).toBe(true);
    expect(verifyChatToken(token, secret, 1_030_000)).toEqual({ ok: false, reason: 'expired' });
  });
});
