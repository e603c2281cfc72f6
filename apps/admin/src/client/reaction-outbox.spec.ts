// withMyReaction (what the screen shows until a reaction is committed) and the outbox's bookkeeping.
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '@parley/protocol';
import { MAX_REACTION_SENDS, ReactionOutbox, withMyReaction } from './reaction-outbox.ts';

const me = { id: 7, handle: 'me', displayName: 'Me' };
const base: ChatMessage = { id: 1, roomId: 1, seq: 4, author: me, clientId: 'c', body: 'b', createdAt: '', editedAt: null, deletedAt: null };

describe('withMyReaction', () => {
  it('adds me to an emoji or a new one, removes me (the emoji too when I was its last), and changes nothing that already is so', () => {
    const others = { ...base, reactions: [{ emoji: '👍', count: 2, userIds: [1, 2], handles: ['a', 'b'] }] };
    const added = withMyReaction(others, me, '👍', true);
    expect(added.reactions).toEqual([{ emoji: '👍', count: 3, userIds: [1, 2, 7], handles: ['a', 'b', 'me'] }]);
    expect(withMyReaction(added, me, '👍', true)).toBe(added);
    expect(withMyReaction(added, me, '👍', false).reactions).toEqual(others.reactions);
    const fresh = withMyReaction(base, me, '🎉', true);
    expect(fresh.reactions).toEqual([{ emoji: '🎉', count: 1, userIds: [7], handles: ['me'] }]);
    expect(withMyReaction(fresh, me, '🎉', false)).toEqual(base);
    expect(withMyReaction({ ...base, deletedAt: 'x' }, me, '🎉', true).reactions).toBeUndefined();
  });
});

describe('ReactionOutbox', () => {
  it('keeps the latest wish per message and emoji until the server commits that state', () => {
    const out = new ReactionOutbox();
    out.want(base, '👍', true);
    out.want(base, '👍', false);
    out.settle(1, 4, '👍', true); // an answer to the older wish: the newer one stays
    expect(out.wanted(1, 4, '👍')).toBe(false);
    out.settle(1, 4, '👍', false);
    expect(out.wanted(1, 4, '👍')).toBeUndefined();
    out.want(base, '👀', true);
    out.want({ ...base, roomId: 2, seq: 9 }, '👀', true);
    out.forget(1, 4);
    expect(out.resend(1).due).toEqual([]);
    expect(out.resend(2).due.map((w) => w.seq)).toEqual([9]);
  });

  it('gives back the server\'s latest state of a message whose wishes are dropped (refused, or given up)', () => {
    const out = new ReactionOutbox();
    out.want(base, '👍', true);
    const fromServer = { ...base, version: 9, reactions: [{ emoji: '🎉', count: 1, userIds: [1], handles: ['a'] }] };
    out.serverState(fromServer);
    expect(out.overlay(fromServer, me).reactions?.map((r) => r.emoji)).toEqual(['🎉', '👍']);
    expect(out.refused(1, 4, '👍')).toEqual([fromServer]);
    expect(out.pending(1)).toBe(false);
    expect(out.overlay(fromServer, me)).toBe(fromServer);

    out.want(base, '👍', true);
    for (let i = 1; i <= MAX_REACTION_SENDS; i++) expect(out.resend(1)).toEqual({ due: [expect.objectContaining({ emoji: '👍', resends: i })], restore: [] });
    expect(out.resend(1)).toEqual({ due: [], restore: [base] });
  });

  it('a refusal drops only the wish it names; the message is shown again with the others over it', () => {
    const out = new ReactionOutbox();
    out.want(base, '👍', true);
    out.want(base, '🎉', true);
    expect(out.refused(1, 4, '🎉')).toEqual([base]);
    expect(out.wanted(1, 4, '👍')).toBe(true);
    expect(out.overlay(base, me).reactions?.map((r) => r.emoji)).toEqual(['👍']);
    expect(out.refused(1, 4, '🙈')).toEqual([base]); // no such wish: nothing dropped, shown as it is
    expect(out.wanted(1, 4, '👍')).toBe(true);
  });

  it('sends a throttled wish again without counting it as a resend', () => {
    const out = new ReactionOutbox();
    out.want(base, '👍', true);
    out.want({ ...base, seq: 5 }, '👀', true);
    expect(out.throttle(1, 4, '🎉')).toBe(false); // no such wish
    for (let i = 0; i < MAX_REACTION_SENDS + 2; i++) {
      expect(out.throttle(1, 4, '👍')).toBe(true);
      expect(out.retryThrottled(1).map((w) => [w.seq, w.emoji, w.resends])).toEqual([[4, '👍', 0]]);
      expect(out.retryThrottled(1)).toEqual([]); // once per "too fast"
    }
    expect(out.resend(1).due.map((w) => w.resends)).toEqual([1, 1]);
  });
});
