// Admin's client for the chat service's internal API (service name from CHAT_INTERNAL_URL, shared
// INTERNAL_TOKEN, request id passed on): read-only (replica stats, readiness) for the dashboard and
// health checks. Changes never travel this way: they reach chat as control events in Postgres (see
// packages/db/src/control-events.ts). Short timeouts: the panel must not hang on a sick chat.
import { injectTraceHeaders } from '@parley/telemetry';

export interface ChatReplicaStats {
  replica: string;
  connections: number;
  rooms: number;
  startedAt: string;
  at: number;
  draining: boolean;
}

export interface ChatStats {
  replica: string;
  replicas: ChatReplicaStats[];
  onlineUsers: number;
  counters: Record<string, number>;
}

export class ChatInternalClient {
  constructor(private readonly baseUrl: string, private readonly token: string, private readonly timeoutMs = 3_000) {}

  async stats(requestId?: string): Promise<ChatStats> {
    const res = await fetch(`${this.baseUrl}/internal/stats`, {
      headers: injectTraceHeaders({ 'x-internal-token': this.token, ...(requestId ? { 'x-request-id': requestId } : {}) }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!res.ok) throw new Error(`chat stats failed: HTTP ${res.status}`);
    return (await res.json()) as ChatStats;
  }

  async ready(): Promise<boolean> {
    try {
      const res = await fetch(`${this.baseUrl}/readyz`, { signal: AbortSignal.timeout(this.timeoutMs) });
      return res.ok;
    } catch {
      return false;
    }
  }
}
