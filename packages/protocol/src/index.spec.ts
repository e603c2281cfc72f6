import { describe, expect, it } from 'vitest';
import { clientFrameSchema } from './index.ts';

describe('clientFrameSchema', () => {
  it('accepts each well-formed frame', () => {
    for (const frame of [
      { type: 'join', room: 1 },
      { type: 'join', room: 1, sinceSeq: 10 },
      { type: 'send', room: 1, clientId: 'abc_1', body: 'hi' },
      { type: 'history', room: 2, beforeSeq: 100, limit: 50 },
      { type: 'history', room: 2, afterSeq: 100 },
      { type: 'history', room: 2, aroundSeq: 7, limit: 200 },
      { type: 'typing', room: 3 },
    ]) {
      expect(clientFrameSchema.safeParse(frame).success).toBe(true);
    }
  });

  it('rejects unknown types, bad ids and wrong field types', () => {
    expect(clientFrameSchema.safeParse({ type: 'nuke', room: 1 }).success).toBe(false);
    expect(clientFrameSchema.safeParse({ type: 'send', room: 1, clientId: 'has space', body: 'x' }).success).toBe(false);
    expect(clientFrameSchema.safeParse({ type: 'join', room: '1' }).success).toBe(false);
    expect(clientFrameSchema.safeParse({ type: 'join', room: -4 }).success).toBe(false);
  });

  it('wants exactly one anchor in a history frame', () => {
    const issue = (frame: object) => {
      const result = clientFrameSchema.safeParse(frame);
      return result.success ? null : result.error.issues[0]?.message;
    };
    expect(issue({ type: 'history', room: 2 })).toMatch(/exactly one of beforeSeq, afterSeq, aroundSeq/);
    expect(issue({ type: 'history', room: 2, beforeSeq: 5, aroundSeq: 3 })).toMatch(/exactly one/);
    expect(issue({ type: 'history', room: 2, aroundSeq: -1 })).not.toBeNull();
  });
});
