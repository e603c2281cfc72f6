// Metric names referenced by PromQL expressions (rules, dashboards) and names exported in a Prometheus
// text exposition, for the consistency tests. A small lexer, not a full parser: enough for our queries.
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** Metric names an expression selects (identifiers not followed by `(` and outside label matchers). */
export function metricNamesIn(expr: string): string[] {
  const cleaned = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings (label values, also inside matchers)
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range selectors
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // grouping label lists
    .replace(/\$\w+/g, ' '); // Grafana variables ($__rate_interval, $job)
  const names = new Set<string>();
  for (const m of cleaned.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = cleaned.slice(m.index + m[0].length).trimStart();
    if (after.startsWith('(')) continue; // a function or aggregation
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    const before = cleaned.slice(0, m.index);
    if (/[0-9.]$/.test(before) || /\de$/i.test(before)) continue; // part of a number (1e3) or a duration
    names.add(m[0]);
  }
  return [...names];
}

/** Every sample name a /metrics exposition can produce: declared families (with histogram/summary suffixes) and samples. */
export function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const type = /^# TYPE (\S+) (\w+)/.exec(line);
    if (type) {
      const [, name, kind] = type;
      names.add(name!);
      if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name! + s);
      if (kind === 'summary') for (const s of ['_sum', '_count']) names.add(name! + s);
      continue;
    }
    if (!line || line.startsWith('#')) continue;
    names.add(/^[^{\s]+/.exec(line)![0]);
  }
  return names;
}
