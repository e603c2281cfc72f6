// Reads the chat server's Prometheus /metrics around a measured window: the group-commit batch sizes
// (parley_chat_write_batch_messages) and transaction durations (parley_chat_write_commit_seconds),
// as differences between two scrapes.

export interface HistogramSnapshot {
  /** cumulative counts by upper bound ('+Inf' last) */
  buckets: Array<[string, number]>;
  sum: number;
  count: number;
}

export type MetricsSnapshot = Record<string, HistogramSnapshot>;

const HISTOGRAMS = ['parley_chat_write_batch_messages', 'parley_chat_write_commit_seconds'];

export async function scrapeChatMetrics(httpBase: string): Promise<MetricsSnapshot | null> {
  try {
    const res = await fetch(`${httpBase}/metrics`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) return null;
    return parseHistograms(await res.text());
  } catch {
    return null;
  }
}

function parseHistograms(text: string): MetricsSnapshot {
  const out: MetricsSnapshot = {};
  for (const name of HISTOGRAMS) out[name] = { buckets: [], sum: 0, count: 0 };
  for (const line of text.split('\n')) {
    const m = /^(\w+?)_(bucket|sum|count)(?:\{([^}]*)\})? ([\d.eE+-]+|\+Inf|NaN)$/.exec(line);
    if (!m) continue;
    const h = out[m[1]!];
    if (!h) continue;
    const value = Number(m[4]);
    if (m[2] === 'sum') h.sum = value;
    else if (m[2] === 'count') h.count = value;
    else {
      const le = /le="([^"]+)"/.exec(m[3] ?? '')?.[1];
      if (le !== undefined) h.buckets.push([le, value]);
    }
  }
  return out;
}

export interface HistogramDelta {
  count: number;
  mean: number | null;
  /** non-cumulative counts per bucket ("≤ le") in the window */
  buckets: Array<[string, number]>;
}

export function histogramDelta(before: HistogramSnapshot | undefined, after: HistogramSnapshot | undefined): HistogramDelta | null {
  if (!before || !after) return null;
  const count = after.count - before.count;
  let previous = 0;
  const buckets = after.buckets.map(([le, cum]): [string, number] => {
    const inWindow = cum - (before.buckets.find(([l]) => l === le)?.[1] ?? 0);
    const own = inWindow - previous;
    previous = inWindow;
    return [le, own];
  });
  return { count, mean: count ? (after.sum - before.sum) / count : null, buckets };
}
