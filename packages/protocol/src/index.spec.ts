import { describe, expect, it } from 'vitest';
import { clientFrameSchema, isEmoji, MAX_ATTACHMENTS_PER_MESSAGE, parseReactionRef, reactionRef } from './index.ts';

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

describe('reactions and replies in frames', () => {
  it('isEmoji accepts one emoji (ZWJ sequences, flags, keycaps, skin tones) and nothing else', () => {
    for (const ok of ['👍', '❤️', '👩‍👩‍👧', '🇫🇷', '1️⃣', '👍🏽', '🏳️‍🌈']) expect(isEmoji(ok), ok).toBe(true);
    for (const bad of ['', 'a', 'lol', '👍👍', ' 👍', '👍\n', '1', '♥ x', '🇫🇷🇩🇪', '\u0000']) expect(isEmoji(bad), JSON.stringify(bad)).toBe(false);
  });

  it('an error answering a react names its message and emoji (and nothing else parses as one)', () => {
    for (const emoji of ['👍', '👨‍👩‍👧', '🇫🇷', '1️⃣']) expect(parseReactionRef(reactionRef(42, emoji))).toEqual({ seq: 42, emoji });
    for (const ref of [undefined, '', 'c-1', 'react:', 'react:x:👍', 'react:4:', 'react:-1:👍']) expect(parseReactionRef(ref)).toBeNull();
  });

  it('react and send-with-replyTo frames validate; old send frames still do', () => {
    expect(clientFrameSchema.safeParse({ type: 'react', room: 1, seq: 2, emoji: '👍', on: true }).success).toBe(true);
    expect(clientFrameSchema.safeParse({ type: 'react', room: 1, seq: 2, emoji: '👍' }).success).toBe(false); // on is required: a set, not a toggle
    expect(clientFrameSchema.safeParse({ type: 'react', room: 1, seq: 0, emoji: '👍', on: false }).success).toBe(false);
    expect(clientFrameSchema.safeParse({ type: 'send', room: 1, clientId: 'a', body: 'x', replyTo: 3 }).success).toBe(true);
    expect(clientFrameSchema.safeParse({ type: 'send', room: 1, clientId: 'a', body: 'x', replyTo: 0 }).success).toBe(false);
    expect(clientFrameSchema.safeParse({ type: 'send', room: 1, clientId: 'a', body: 'x' }).success).toBe(true);
  });
});

describe('attachments in send frames', () => {
  const id = '0b6f1f52-3d7e-4c1a-9f0e-2a4c8d1e5b77';
  it('send accepts up to MAX_ATTACHMENTS_PER_MESSAGE uuids; a frame without them (parley.v1 clients) still validates', () => {
    expect(clientFrameSchema.safeParse({ type: 'send', room: 1, clientId: 'a', body: '', attachments: [id] }).success).toBe(true);
    expect(clientFrameSchema.safeParse({ type: 'send', room: 1, clientId: 'a', body: 'x' }).success).toBe(true);
    const max = Array.from({ length: MAX_ATTACHMENTS_PER_MESSAGE }, () => id);
    expect(clientFrameSchema.safeParse({ type: 'send', room: 1, clientId: 'a', body: '', attachments: max }).success).toBe(true);
    expect(clientFrameSchema.safeParse({ type: 'send', room: 1, clientId: 'a', body: '', attachments: [...max, id] }).success).toBe(false);
  });

  it('refuses ids that are not uuids (they reach SQL as a uuid[] literal)', () => {
    for (const bad of ['x', '', `${id},${id}`, '{}', 7]) {
      expect(clientFrameSchema.safeParse({ type: 'send', room: 1, clientId: 'a', body: '', attachments: [bad] }).success).toBe(false);
    }
  });
});
