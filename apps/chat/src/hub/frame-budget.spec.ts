import { describe, expect, it } from 'vitest';
import { FrameBudget } from './frame-budget.ts';

describe('FrameBudget', () => {
  it('lets a burst through, refuses beyond it with a retry hint, and closes a socket that keeps going', () => {
    const budget = new FrameBudget(10, 5);
    const socket = {};
    const t = 1_000_000;
    for (let i = 0; i < 5; i++) expect(budget.take(1, socket, t)).toEqual({ ok: true });
    expect(budget.take(1, socket, t)).toEqual({ ok: false, retryInMs: 100, close: false });
    for (let i = 0; i < 4; i++) expect(budget.take(1, socket, t)).toMatchObject({ ok: false, close: false });
    expect(budget.take(1, socket, t)).toMatchObject({ ok: false, close: true });
    // Another user is not affected; the budget refills with time.
    expect(budget.take(2, {}, t)).toEqual({ ok: true });
    expect(budget.take(1, socket, t + 1_000)).toEqual({ ok: true });
  });

  it('shares one budget among the sockets of a user', () => {
    const budget = new FrameBudget(1, 2);
    expect(budget.take(1, {}, 0).ok).toBe(true);
    expect(budget.take(1, {}, 0).ok).toBe(true);
    expect(budget.take(1, {}, 0).ok).toBe(false);
  });
});
