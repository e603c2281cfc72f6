// Admin's request spans (only when tracing is on, see @parley/telemetry). The span starts when Fastify
// makes the request's logger (childLoggerFactory), so even the "incoming request" line carries
// `trace_id`; the onRequest hook then runs the rest of the request inside the span's context (so the
// chat client injects `traceparent` into admin → chat calls) and onResponse ends it.
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { context, endServerSpan, startServerSpan, tracingEnabled, type Context, type Span } from '@parley/telemetry';

const SPAN = Symbol('parley.span');
type Traced = IncomingMessage & { [SPAN]?: { span: Span; ctx: Context } };

/** Fastify options that bind `trace_id` into each request's logger (none when tracing is off). */
export function tracingServerOptions(): Pick<FastifyServerOptions, 'childLoggerFactory'> {
  if (!tracingEnabled()) return {};
  return {
    childLoggerFactory(logger, bindings, opts, rawReq) {
      const req = rawReq as Traced;
      const { span, ctx, traceId } = startServerSpan(`${req.method ?? 'GET'} unmatched`, req.headers, { 'http.request.method': req.method ?? '' });
      req[SPAN] = { span, ctx };
      return logger.child({ ...bindings, trace_id: traceId }, opts);
    },
  };
}

export const tracingPlugin = fp(async (app: FastifyInstance) => {
  if (!tracingEnabled()) return;
  app.addHook('onRequest', (req, _reply, done) => {
    const traced = (req.raw as Traced)[SPAN];
    if (!traced) return done();
    const route = req.routeOptions.url ?? 'unmatched';
    traced.span.updateName(`${req.method} ${route}`);
    traced.span.setAttributes({ 'http.route': route, 'parley.request_id': req.id });
    context.with(traced.ctx, done);
  });
  app.addHook('onResponse', async (req, reply) => {
    const traced = (req.raw as Traced)[SPAN];
    if (traced) endServerSpan(traced.span, reply.statusCode);
  });
}, { name: 'parley-tracing' });
