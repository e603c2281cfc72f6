// A client frame's way in: binary/size/JSON/schema checks with a precise error for each, then the
// command that handles it.
import { type ClientFrame, CLIENT_FRAME_TYPES, ErrorCode, PRESENCE_LIST_MAX, clientFrameSchema } from '@parley/protocol';
import type { Connection } from './connection.ts';
import type { HistoryAnchor, MessageCommands } from './message-commands.ts';
import type { Reject, Subscriptions } from './subscriptions.ts';
import type { HubMetrics } from '../metrics.ts';

export interface FrameRouterDeps {
  /** Frames above this size get a too_large error (the socket's hard cap, which closes with 1009, is higher). */
  maxFrameBytes: number | undefined;
  subscriptions: Subscriptions;
  commands: MessageCommands;
  reject: Reject;
  metrics?: HubMetrics;
}

/** A short, safe description of a client's `type` value for an error message (never walks it). */
export function describeType(type: unknown): string {
  if (typeof type === 'string') return JSON.stringify(type.slice(0, 40));
  if (type === undefined || type === null) return 'null';
  if (typeof type === 'object') return Array.isArray(type) ? 'an array' : 'an object';
  return JSON.stringify(type).slice(0, 40); // parsed JSON: a number or a boolean is left
}

export class FrameRouter {
  constructor(private readonly deps: FrameRouterDeps) {}

  async route(conn: Connection, data: Buffer, isBinary: boolean): Promise<void> {
    const { subscriptions, commands, metrics } = this.deps;
    let rawType: unknown = undefined;
    // A frame refused here (before any command) counts as rejected under its type, or `invalid`.
    const reject: Reject = (c, code, message, extra) => {
      // Never String() a client value: a deeply nested array would overflow the stack.
      const type = typeof rawType === 'string' && (CLIENT_FRAME_TYPES as readonly string[]).includes(rawType) ? rawType : 'invalid';
      metrics?.frames.inc({ type, outcome: 'rejected' });
      this.deps.reject(c, code, message, extra);
    };
    if (conn.closing || conn.closed) return;
    if (isBinary) return reject(conn, ErrorCode.BadFrame, 'binary frames are not supported; send JSON text');
    const maxFrame = this.deps.maxFrameBytes;
    if (maxFrame !== undefined && data.length > maxFrame) {
      return reject(conn, ErrorCode.TooLarge, `frame is ${data.length} bytes; the limit is ${maxFrame}`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(data.toString('utf8'));
    } catch {
      return reject(conn, ErrorCode.BadJson, 'frame is not valid JSON');
    }
    rawType = (raw as { type?: unknown } | null)?.type;
    const parsed = clientFrameSchema.safeParse(raw);
    if (!parsed.success) {
      const type = (raw as { type?: unknown } | null)?.type;
      if (typeof type !== 'string' || !(CLIENT_FRAME_TYPES as readonly string[]).includes(type)) {
        return reject(conn, ErrorCode.UnknownType, `unknown frame type ${describeType(type)}; expected one of ${CLIENT_FRAME_TYPES.join(', ')}`);
      }
      const issue = parsed.error.issues[0];
      const ref = (raw as { clientId?: unknown }).clientId;
      return reject(conn, ErrorCode.BadFrame, `invalid ${type} frame: ${issue?.path.join('.') || 'frame'} ${issue?.message ?? ''}`.trim(), typeof ref === 'string' ? { ref: ref.slice(0, 64) } : {});
    }
    const frame: ClientFrame = parsed.data;
    metrics?.frames.inc({ type: frame.type, outcome: 'ok' });
    switch (frame.type) {
      case 'join': return subscriptions.join(conn, frame.room, frame.sinceSeq, frame.sinceVersion, frame.presence === 'diff');
      case 'leave': return subscriptions.leave(conn, frame.room);
      case 'send': return commands.send(conn, frame.room, frame.clientId, frame.body, frame.replyTo, frame.attachments);
      case 'edit': return commands.edit(conn, frame.room, frame.seq, frame.body);
      case 'delete': return commands.remove(conn, frame.room, frame.seq);
      case 'history': return commands.history(conn, frame.room, historyAnchor(frame), frame.limit ?? 50);
      case 'typing': return commands.typing(conn, frame.room);
      case 'ping': return conn.send(frame.ref === undefined ? { type: 'pong' } : { type: 'pong', ref: frame.ref });
      case 'read': return commands.read(conn, frame.room, frame.seq);
      case 'react': return commands.react(conn, frame.room, frame.seq, frame.emoji, frame.on);
      case 'presence_list': return subscriptions.presenceList(conn, frame.room, frame.after, frame.limit ?? PRESENCE_LIST_MAX);
    }
  }
}

/** The one anchor of a validated history frame. */
function historyAnchor(frame: Extract<ClientFrame, { type: 'history' }>): HistoryAnchor {
  if (frame.afterSeq !== undefined) return { afterSeq: frame.afterSeq };
  if (frame.aroundSeq !== undefined) return { aroundSeq: frame.aroundSeq };
  return { beforeSeq: frame.beforeSeq ?? 0 };
}
