// Admin's client for the chat service's internal API (service name from CHAT_INTERNAL_URL, shared
// INTERNAL_TOKEN, request id passed on). Short timeouts: the panel must not hang on a sick chat.
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

  private async call(method: 'GET' | 'POST', path: string, body: unknown, requestId?: string): Promise<Response> {
    return fetch(`${this.baseUrl}${path}`, {
      method,
      headers: injectTraceHeaders({
        'x-internal-token': this.token,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(requestId ? { 'x-request-id': requestId } : {}),
      }),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
  }

  /** Close a session's or a user's sockets on every chat replica and refuse their current tokens. */
  async kick(target: { userId?: number; sessionId?: string }, reason: string, requestId?: string): Promise<void> {
    const res = await this.call('POST', '/internal/kick', { ...target, reason }, requestId);
    if (!res.ok) throw new Error(`chat kick failed: HTTP ${res.status}`);
  }

  /** A user lost access to a room: every chat replica takes their open sockets out of it. */
  async roomMemberRemoved(roomId: number, userId: number, requestId?: string): Promise<void> {
    const res = await this.call('POST', `/internal/rooms/${roomId}/membership`, { userId, action: 'removed' }, requestId);
    if (!res.ok) throw new Error(`chat membership update failed: HTTP ${res.status}`);
  }

  /** A room was archived or unarchived: every chat replica tells the room's open sockets. */
  async roomArchived(roomId: number, archived: boolean, requestId?: string): Promise<void> {
    const res = await this.call('POST', `/internal/rooms/${roomId}/archived`, { archived }, requestId);
    if (!res.ok) throw new Error(`chat archive update failed: HTTP ${res.status}`);
  }

  async moderation(body: Record<string, unknown>, requestId?: string): Promise<Response> {
    return this.call('POST', '/internal/moderation', body, requestId);
  }

  async stats(requestId?: string): Promise<ChatStats> {
    const res = await this.call('GET', '/internal/stats', undefined, requestId);
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
