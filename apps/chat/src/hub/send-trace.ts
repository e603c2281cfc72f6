// One chat `send` as a trace (only when tracing is on; null otherwise, so the hot path pays nothing):
// span "chat send" from the frame being handled to its ack, with child spans "chat commit" (queued for
// the group-commit writer until the COMMIT result) and "chat fan-out" (the bus publish being queued and
// the delivery to this replica's subscribers; a large room's delivery continues in later turns).
import { context, SpanKind, SpanStatusCode, trace, tracer, tracingEnabled, type Context, type Span } from '@parley/telemetry';

export class SendTrace {
  private commit: Span | null = null;
  private ended = false;

  private constructor(private readonly span: Span, private readonly ctx: Context) {}

  static start(roomId: number, connectionId: string): SendTrace | null {
    if (!tracingEnabled()) return null;
    const span = tracer().startSpan('chat send', { kind: SpanKind.SERVER, attributes: { 'parley.room': roomId, 'parley.connection': connectionId } });
    return new SendTrace(span, trace.setSpan(context.active(), span));
  }

  storing(): void {
    this.commit = tracer().startSpan('chat commit', { kind: SpanKind.INTERNAL }, this.ctx);
  }

  committed(seq: number, duplicate: boolean): void {
    this.commit?.setAttributes({ 'parley.seq': seq, 'parley.duplicate': duplicate });
    this.commit?.end();
    this.commit = null;
    this.span.addEvent('ack sent', { 'parley.seq': seq });
  }

  fanout(run: () => void): void {
    const span = tracer().startSpan('chat fan-out', { kind: SpanKind.INTERNAL }, this.ctx);
    try {
      context.with(trace.setSpan(this.ctx, span), run);
    } finally {
      span.end();
    }
  }

  failed(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.commit?.recordException(error);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.commit?.end();
    this.span.end();
  }
}
