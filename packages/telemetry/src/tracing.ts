// OpenTelemetry tracing for admin and chat, exported over OTLP/HTTP (JSON) when
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set. When it is not, nothing is
// loaded or registered: the SDK modules are imported lazily, no context manager runs, callers check
// `tracingEnabled()` before creating spans, and the log mixin is not installed (zero cost).
// W3C trace context: `traceparent` is accepted from the edge (or any client) and injected into the
// admin → chat internal API calls; every log line written inside a traced request carries `trace_id`.
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';

let enabled = false;
let shutdownHook: (() => Promise<void>) | null = null;

export function tracingEnabled(): boolean {
  return enabled;
}

/** Start exporting traces if an OTLP endpoint is configured; returns whether tracing is on. */
export async function startTracing(service: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return false;
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, { W3CTraceContextPropagator }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
  ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || `parley-${service}`, 'service.namespace': 'parley' }),
    // The exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout); the processor OTEL_BSP_*.
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  // Registers the AsyncLocalStorage context manager too, so the active span follows async work.
  provider.register({ propagator: new W3CTraceContextPropagator() });
  enabled = true;
  shutdownHook = () => provider.shutdown();
  return true;
}

/** Flush and stop (on SIGTERM, after the last request). */
export async function stopTracing(): Promise<void> {
  await shutdownHook?.().catch(() => undefined);
}

export const tracer = () => trace.getTracer('parley');

/** The parent context a request's W3C `traceparent`/`tracestate` headers describe (root if none). */
export function contextFromHeaders(headers: Record<string, string | string[] | undefined>): Context {
  return propagation.extract(ROOT_CONTEXT, headers);
}

/** Add `traceparent` (and `tracestate`) for the active span to outgoing request headers. */
export function injectTraceHeaders(headers: Record<string, string>): Record<string, string> {
  if (enabled) propagation.inject(context.active(), headers);
  return headers;
}

/** A server span for one incoming HTTP request, child of the caller's trace if it sent one. */
export function startServerSpan(name: string, headers: Record<string, string | string[] | undefined>, attributes: Record<string, string | number> = {}): { span: Span; ctx: Context; traceId: string } {
  const parent = contextFromHeaders(headers);
  const span = tracer().startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  return { span, ctx: trace.setSpan(parent, span), traceId: span.spanContext().traceId };
}

/** End a server span with the HTTP status (5xx marks it as an error). */
export function endServerSpan(span: Span, status: number): void {
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** pino `mixin`: the active trace id on every log line written inside a traced context. */
export function traceLogMixin(): Record<string, string> {
  const span = trace.getSpan(context.active());
  return span ? { trace_id: span.spanContext().traceId } : {};
}

export { context, trace, SpanKind, SpanStatusCode, type Context, type Span };
