// The dashboard's live refresh: polls the JSON endpoint every few seconds and re-renders with the same
// escaping view function the server used for the first paint. Pauses while the tab is hidden.
import { dashboardBody, type DashboardData } from '../features/dashboard/view.ts';

const root = document.getElementById('dashboard') as HTMLElement;
const updated = document.getElementById('dash-updated') as HTMLElement;
const endpoint = root.dataset.endpoint ?? '/admin/api/dashboard';
const INTERVAL_MS = 3_000;
let timer: ReturnType<typeof setTimeout> | null = null;
let failures = 0;

async function refresh(): Promise<void> {
  timer = null;
  try {
    const res = await fetch(endpoint, { credentials: 'same-origin', headers: { accept: 'application/json' }, cache: 'no-store' });
    if (res.status === 401 || res.status === 403) {
      updated.textContent = 'Signed out: reload the page to log in again.';
      return; // no point polling
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const data = (await res.json()) as DashboardData;
    // dashboardBody escapes every value (html tagged template), so this markup carries no user input raw.
    root.innerHTML = dashboardBody(data).value;
    updated.dataset.at = data.at;
    updated.textContent = `Updated ${data.at.slice(11, 19)} UTC`;
    updated.classList.remove('stale');
    failures = 0;
  } catch {
    failures++;
    updated.textContent = `Could not refresh (${failures}×); retrying…`;
    updated.classList.add('stale');
  }
  schedule();
}

function schedule(): void {
  if (timer || document.hidden) return;
  timer = setTimeout(() => void refresh(), Math.min(INTERVAL_MS * 2 ** Math.max(0, failures - 1), 30_000));
}

document.addEventListener('visibilitychange', () => {
  if (document.hidden && timer) {
    clearTimeout(timer);
    timer = null;
  } else if (!document.hidden) void refresh();
});
schedule();
