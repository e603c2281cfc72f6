// File sizes for people, one implementation for the server (upload limits in error messages, the
// admin Storage page) and the browser (file chips, download cards): imports nothing, so the browser
// bundle can take it (as it takes the dashboard's view). Not protocol: frames carry sizes in bytes.

/** 1,234 B, 12.3 KB, 123 KB, 4.5 MB, 1.2 GB (one decimal below 10 of a unit). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n.toLocaleString('en')} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
