import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { REDACT_PATHS, acceptRequestId } from './index.ts';

describe('acceptRequestId', () => {
  it('keeps a well-formed id and replaces a hostile one', () => {
    expect(acceptRequestId('abc-123', () => 'new')).toBe('abc-123');
    expect(acceptRequestId('bad id\nwith newline', () => 'new')).toBe('new');
    expect(acceptRequestId(undefined, () => 'new')).toBe('new');
    expect(acceptRequestId('x'.repeat(200), () => 'new')).toBe('new');
  });
  it('applies the edge rule exactly: 64 characters pass, 65 and a colon do not', () => {
    expect(acceptRequestId('a'.repeat(64), () => 'new')).toBe('a'.repeat(64));
    expect(acceptRequestId('a'.repeat(65), () => 'new')).toBe('new');
    expect(acceptRequestId('trace:1', () => 'new')).toBe('new');
  });
});

describe('redaction', () => {
  it('never writes passwords, cookies or tokens', () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
    const log = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
    log.info({ password: 'hunter2', req: { headers: { cookie: 'sid=s3cret', authorization: 'Bearer t0k' } }, body: { token: 'abc' } }, 'x');
    const out = lines.join('');
    expect(out).not.toMatch(/hunter2|s3cret|t0k|"abc"/);
    expect(out).toContain('[redacted]');
  });
});
