// Smoothness of the web client with a long history: a room of 10,000 messages is scrolled back to its
// first message (infinite scroll upward, 100 per page) and compared with a room of 500 in the same run,
// in the same browser: the DOM holds a window of rows whatever is loaded, scroll steps late in the
// 10,000 run cost no more than in the 500 run, and the share of time lost to long tasks does not grow.
// Ratios to this run's baseline only: the machine is shared and slow.
import { describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Stack, TestDatabase } from '@parley/devtools';
import { e2eTest } from './support/fixtures.ts';
import { signUp, waitConnected } from './support/browser.ts';
import { newUser, PanelClient } from './support/http.ts';

const test = e2eTest({ label: 'ui_scale', stack: { chatEnv: { LOG_LEVEL: 'warn' } } });
let db: TestDatabase;
let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;

// Module-level helpers read the file's fixtures through these.
test.beforeAll(({ db: d, stack: s, browser: b }) => void ([db, stack, browser] = [d, s, b]));

test.afterAll(async () => {
  await context?.close().catch(() => undefined);
});

interface ScrollRun {
  loaded: number;
  steps: number;
  /** Median time of one scroll step (scroll, then two frames; more while a page of history loads), ms. */
  medianStepMs: number;
  /** The same over the last tenth of the steps, when nearly everything is loaded. */
  lateMedianStepMs: number;
  totalMs: number;
  longTasks: number;
  longTaskMs: number;
  /** Share of the run's time the main thread was blocked by long tasks (0–1). */
  longTaskShare: number;
  p95FrameMs: number;
  maxFrameMs: number;
  maxRows: number;
  maxDomNodes: number;
  firstSeq: number;
  sorted: boolean;
}

/** Scrolls the open conversation back to its first message, measuring as it goes (all in the page). */
function scrollToBeginning(p: Page, roomId: number): Promise<ScrollRun> {
  return p.evaluate(async (id) => {
    type Store = { rooms: Map<number, { messages: Array<{ seq: number }>; hasMore: boolean; loadingOlder: boolean }> };
    const store = (window as unknown as { parleyStore: Store }).parleyStore;
    const scroller = document.querySelector('.scroller') as HTMLElement;
    const frame = () => new Promise<number>((r) => requestAnimationFrame(r));
    const longTasks: number[] = [];
    const observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) longTasks.push(e.duration); });
    observer.observe({ type: 'longtask', buffered: false });
    const frames: number[] = [];
    let running = true;
    let last = await frame();
    const tick = (t: number) => {
      frames.push(t - last);
      last = t;
      if (running) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    const steps: number[] = [];
    let maxRows = 0;
    let maxDomNodes = 0;
    const started = performance.now();
    for (let i = 0; i < 5_000; i++) {
      const room = store.rooms.get(id)!;
      const firstRow = document.querySelector<HTMLElement>('#messages li[data-seq]');
      if (scroller.scrollTop === 0 && !room.hasMore && firstRow?.dataset.seq === '1') break;
      const t0 = performance.now();
      scroller.scrollTop -= 1_500;
      await frame();
      await frame();
      while (store.rooms.get(id)!.loadingOlder) await frame();
      steps.push(performance.now() - t0);
      maxRows = Math.max(maxRows, document.querySelectorAll('#messages li[data-seq]').length);
      maxDomNodes = Math.max(maxDomNodes, document.getElementsByTagName('*').length);
    }
    const totalMs = performance.now() - started;
    running = false;
    await frame();
    observer.disconnect();
    const seqs = [...document.querySelectorAll<HTMLElement>('#messages li[data-seq]')].map((li) => Number(li.dataset.seq));
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const sortedFrames = [...frames].sort((a, b) => a - b);
    const longTaskMs = longTasks.reduce((a, b) => a + b, 0);
    return {
      loaded: store.rooms.get(id)!.messages.length,
      steps: steps.length,
      medianStepMs: median(steps),
      lateMedianStepMs: median(steps.slice(Math.floor(steps.length * 0.9))),
      totalMs,
      longTasks: longTasks.length,
      longTaskMs,
      longTaskShare: longTaskMs / totalMs,
      p95FrameMs: sortedFrames[Math.floor(sortedFrames.length * 0.95)] ?? 0,
      maxFrameMs: sortedFrames.at(-1) ?? 0,
      maxRows,
      maxDomNodes,
      firstSeq: seqs[0] ?? 0,
      sorted: seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1),
    };
  }, roomId);
}

async function seedRoom(owner: PanelClient, authorId: number, count: number): Promise<number> {
  const room = await owner.createRoom(`History ${count} ${Date.now()}`);
  // Varied bodies (some markdown, some long) so rows differ in height like a real conversation.
  await db.pool.query(
    `INSERT INTO messages (room_id, seq, author_id, client_msg_id, body, created_at)
     SELECT $1::bigint, s, $2::bigint, 'scale-' || $1::text || '-' || s,
            CASE WHEN s % 7 = 0 THEN 'a **longer** message number ' || s || ' ' || repeat('with more words ', 12)
                 WHEN s % 5 = 0 THEN '- item ' || s || E'\n- and \`code\`'
                 ELSE 'message ' || s END,
            now() - interval '10 seconds' * ($3::int - s)
     FROM generate_series(1, $3::int) s`,
    [room, authorId, count],
  );
  await db.pool.query('UPDATE rooms SET last_seq = $2 WHERE id = $1', [room, count]);
  return room;
}

describe('web client at 10,000 messages', () => {
  it('scrolls back through 10,000 messages with a bounded DOM and no slower steps than through 500', { timeout: 600_000 }, async () => {
    const owner = newUser('owner');
    const reader = newUser('reader');
    const panel = new PanelClient(stack.adminUrl);
    await panel.signUp(owner);
    const { rows } = await db.pool.query<{ id: number }>('SELECT id FROM users WHERE handle = $1', [owner.handle]);
    const ownerId = Number(rows[0]!.id);
    const small = await seedRoom(panel, ownerId, 500);
    const big = await seedRoom(panel, ownerId, 10_000);

    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: stack.adminUrl });
    page = await context.newPage();
    await signUp(page, stack.adminUrl, reader);
    const runs: Record<string, ScrollRun> = {};
    for (const [label, room, count] of [['500', small, 500], ['10000', big, 10_000]] as const) {
      await page.goto(`/chat/${room}`);
      await waitConnected(page);
      await page.locator(`#messages li[data-seq="${count}"]`).waitFor();
      runs[label] = await scrollToBeginning(page, room);
    }
    const [s, b] = [runs['500']!, runs['10000']!];
    console.log(`ui-scale figures: ${JSON.stringify(runs, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v))}`);

    // Both reached the first message, in order, with everything loaded.
    for (const [run, count] of [[s, 500], [b, 10_000]] as const) {
      expect(run.firstSeq).toBe(1);
      expect(run.sorted).toBe(true);
      expect(run.loaded).toBe(count);
    }
    // The DOM holds a window: 20× the messages loaded, no more rows or nodes than with 500.
    expect(b.maxRows).toBeLessThanOrEqual(240); // message-list's MAX_ROWS
    expect(b.maxRows).toBeLessThanOrEqual(s.maxRows * 1.1);
    expect(b.maxDomNodes).toBeLessThanOrEqual(s.maxDomNodes * 1.1);
    // A scroll step with 9,000+ messages loaded costs about what it costs with 500.
    expect(b.lateMedianStepMs).toBeLessThanOrEqual(s.medianStepMs * 3);
    expect(b.medianStepMs).toBeLessThanOrEqual(s.medianStepMs * 3);
    // The main thread is not blocked for a larger share of the time.
    expect(b.longTaskShare).toBeLessThanOrEqual(Math.max(s.longTaskShare * 2, s.longTaskShare + 0.1));
  });
});
