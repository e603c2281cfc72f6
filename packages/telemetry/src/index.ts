// Telemetry shared by admin and chat: pool gauges, the HTTP RED histogram, OpenTelemetry tracing.
export { registerPoolMetrics } from './pool-metrics.ts';
export { httpRequestHistogram, httpLabels, HTTP_BUCKETS, DEPENDENCY_UP, type HttpHistogram } from './http-metrics.ts';
export {
  startTracing, stopTracing, tracingEnabled, tracer, contextFromHeaders, injectTraceHeaders, startServerSpan, endServerSpan, traceLogMixin,
  context, trace, SpanKind, SpanStatusCode, type Context, type Span,
} from './tracing.ts';
