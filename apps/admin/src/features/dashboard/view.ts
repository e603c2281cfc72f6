// The dashboard's live part, rendered by the same function on the server (first paint) and in the
// browser (every refresh, from the JSON endpoint): one implementation, escaped by `html`. Charts are
// SVG built from attributes only (the CSP forbids inline styles).
import { html, type SafeHtml } from '../../views/html.ts';

export interface HealthCheck {
  ok: boolean;
  ms: number;
  error?: string;
}

export interface DashboardData {
  at: string;
  onlineUsers: number | null;
  connections: number | null;
  replicas: { replica: string; connections: number; rooms: number; draining: boolean; ageMs: number; healthy: boolean; startedAt: string }[];
  /** 60 counts, oldest first; the last is the current minute. Null when Postgres did not answer. */
  messagesPerMinute: number[] | null;
  activeUsers: number | null;
  openRooms: number | null;
  health: { postgres: HealthCheck; redis: HealthCheck | null; chat: HealthCheck };
}

const fmt = (n: number | null) => (n === null ? '–' : n.toLocaleString('en'));

function niceMax(n: number): number {
  if (n <= 4) return 4;
  const pow = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 5, 10]) if (step * pow >= n) return step * pow;
  return 10 * pow;
}

export function messagesChart(perMinute: number[] | null): SafeHtml {
  if (!perMinute) return html`<p class="field-error">Message counts are unavailable: Postgres did not answer.</p>`;
  const W = 640;
  const H = 180;
  const left = 36;
  const bottom = 22;
  const top = 8;
  const plotW = W - left - 8;
  const plotH = H - top - bottom;
  const max = niceMax(Math.max(...perMinute));
  const total = perMinute.reduce((a, b) => a + b, 0);
  const peak = Math.max(...perMinute);
  const barW = plotW / perMinute.length;
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const gridValues = max % 2 === 0 ? [0, max / 2, max] : [0, max];
  return html`<figure class="chart">
  <svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="mpm-title mpm-desc" class="chart-svg" preserveAspectRatio="none" id="messages-chart">
    <title id="mpm-title">Messages per minute, last hour</title>
    <desc id="mpm-desc">${total} messages in the last hour; peak ${peak} per minute; ${perMinute[perMinute.length - 1] ?? 0} this minute.</desc>
    ${gridValues.map((g) => html`<line x1="${left}" x2="${W - 8}" y1="${y(g).toFixed(1)}" y2="${y(g).toFixed(1)}" class="grid"></line>
    <text x="${left - 6}" y="${(y(g) + 4).toFixed(1)}" text-anchor="end" class="axis">${g}</text>`)}
    ${perMinute.map((v, i) => {
      const h = (v / max) * plotH;
      return html`<rect x="${(left + i * barW + 1).toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" width="${Math.max(1, barW - 2).toFixed(1)}" height="${h.toFixed(1)}" class="bar" data-minute="${i - 59}" data-count="${v}"><title>${v} message${v === 1 ? '' : 's'}, ${59 - i === 0 ? 'this minute' : `${59 - i} min ago`}</title></rect>`;
    })}
    <text x="${left}" y="${H - 6}" class="axis">60 min ago</text>
    <text x="${left + plotW / 2}" y="${H - 6}" text-anchor="middle" class="axis">30 min ago</text>
    <text x="${W - 8}" y="${H - 6}" text-anchor="end" class="axis">now</text>
  </svg>
  <figcaption class="muted small"><strong id="messages-hour">${total}</strong> messages in the last hour · peak <strong>${peak}</strong>/min</figcaption>
</figure>`;
}

function replicaBars(replicas: DashboardData['replicas']): SafeHtml {
  if (!replicas.length) return html`<p class="muted">No chat replica reported.</p>`;
  const max = niceMax(Math.max(1, ...replicas.map((r) => r.connections)));
  return html`<div class="table-wrap"><table class="replicas" id="replicas">
  <thead><tr><th scope="col">Replica</th><th scope="col">Open connections</th><th scope="col" class="num">Rooms</th><th scope="col">Health</th></tr></thead>
  <tbody>${replicas.map((r) => html`<tr data-replica="${r.replica}">
    <th scope="row"><code>${r.replica}</code></th>
    <td><span class="bar-cell"><svg viewBox="0 0 200 14" class="hbar" aria-hidden="true" preserveAspectRatio="none"><rect x="0" y="0" width="200" height="14" class="track"></rect><rect x="0" y="0" width="${((r.connections / max) * 200).toFixed(1)}" height="14" class="bar"></rect></svg><strong class="connections">${r.connections}</strong></span></td>
    <td class="num">${r.rooms}</td>
    <td>${status(r.healthy, r.draining ? 'draining' : r.healthy ? 'up' : `silent ${Math.round(r.ageMs / 1000)} s`)}</td>
  </tr>`)}</tbody>
</table></div>`;
}

function status(ok: boolean, text: string): SafeHtml {
  return html`<span class="status ${ok ? 'ok' : 'bad'}"><span class="dot" aria-hidden="true"></span>${text}</span>`;
}

function healthRow(name: string, check: HealthCheck | null, id: string): SafeHtml {
  if (!check) return html`<li id="${id}" data-ok="n/a"><span class="name">${name}</span><span class="status off"><span class="dot" aria-hidden="true"></span>not used (embedded mode)</span></li>`;
  return html`<li id="${id}" data-ok="${check.ok ? 'true' : 'false'}"><span class="name">${name}</span>${status(check.ok, check.ok ? `up · ${check.ms} ms` : 'down')}${check.ok || !check.error ? '' : html`<span class="muted small err">${check.error}</span>`}</li>`;
}

export function dashboardBody(d: DashboardData): SafeHtml {
  return html`<div class="kpis">
  <div class="kpi"><span class="kpi-value" id="online-users">${fmt(d.onlineUsers)}</span><span class="kpi-label">people online</span></div>
  <div class="kpi"><span class="kpi-value" id="open-connections">${fmt(d.connections)}</span><span class="kpi-label">open connections</span></div>
  <div class="kpi"><span class="kpi-value">${fmt(d.messagesPerMinute ? d.messagesPerMinute[59] ?? 0 : null)}</span><span class="kpi-label">messages this minute</span></div>
  <div class="kpi"><span class="kpi-value">${fmt(d.activeUsers)}</span><span class="kpi-label">active accounts</span></div>
  <div class="kpi"><span class="kpi-value">${fmt(d.openRooms)}</span><span class="kpi-label">open rooms</span></div>
</div>
<div class="grid-2">
  <section class="card" aria-labelledby="chart-h">
    <h2 id="chart-h">Messages per minute</h2>
    ${messagesChart(d.messagesPerMinute)}
  </section>
  <section class="card" aria-labelledby="health-h">
    <h2 id="health-h">Health</h2>
    <ul class="health" id="health">
      ${healthRow('PostgreSQL', d.health.postgres, 'health-postgres')}
      ${healthRow('Redis', d.health.redis, 'health-redis')}
      ${healthRow('Chat service', d.health.chat, 'health-chat')}
      ${d.replicas.map((r) => html`<li data-ok="${r.healthy ? 'true' : 'false'}"><span class="name">↳ <code>${r.replica}</code></span>${status(r.healthy, r.draining ? 'draining' : r.healthy ? 'up' : 'silent')}</li>`)}
    </ul>
  </section>
</div>
<section class="card" aria-labelledby="replicas-h">
  <h2 id="replicas-h">Chat replicas</h2>
  ${replicaBars(d.replicas)}
</section>`;
}
