// Per-request observability on chat's Fastify app: the RED histogram by route template (never the raw
// URL: `unmatched` for anything without a route), one access log line per request (its logger carries
// the request id; probes and scrapes only at debug) and, when tracing is on, a server span continuing
// the caller's traceparent, with the request's work and its log lines inside it.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { context, endServerSpan, httpLabels, startServerSpan, tracingEnabled, type Context, type HttpHistogram, type Span } from '@parley/telemetry';

/** Polled every few seconds by probes and Prometheus: at info they would drown the real requests. */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/** The route template a request matched, or `unmatched` (bounded label values). */
export function routeOf(req: FastifyRequest): string {
  return req.routeOptions.url ?? 'unmatched';
}

export function observeRequests(app: FastifyInstance, http: HttpHistogram): void {
  const spans = new WeakMap<FastifyRequest, { span: Span; ctx: Context }>();
  if (tracingEnabled()) {
    app.addHook('onRequest', (req, _reply, done) => {
      const route = routeOf(req);
      const traced = startServerSpan(`${req.method} ${route}`, req.headers, { 'http.route': route, 'http.request.method': req.method, 'parley.request_id': req.id });
      spans.set(req, traced);
      // Fastify reads the body in the request stream's listeners: bind them, or a POST's handler (and
      // its log lines) would run outside the span.
      context.bind(traced.ctx, req.raw);
      context.with(traced.ctx, done);
    });
  }
  app.addHook('onResponse', (req, reply, done) => {
    const route = routeOf(req);
    const seconds = reply.elapsedTime / 1000;
    http.observe(httpLabels(route, req.method, reply.statusCode), seconds);
    const line = { method: req.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 };
    const write = () => (QUIET_ROUTES.has(route) ? req.log.debug(line, 'http request') : req.log.info(line, 'http request'));
    const traced = spans.get(req);
    if (traced) {
      context.with(traced.ctx, write); // the logger's mixin adds trace_id inside the span's context
      endServerSpan(traced.span, reply.statusCode);
    } else {
      write();
    }
    done();
  });
}
