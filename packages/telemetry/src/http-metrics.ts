// The RED histogram shared by admin and chat: route *template* (never a raw URL), method, status class.
import { Histogram, type Registry } from 'prom-client';

export type HttpHistogram = Histogram<'route' | 'method' | 'status_class'>;

/** Latency buckets for HTTP handlers (seconds): 5 ms … 10 s. */
export const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function httpRequestHistogram(registry: Registry): HttpHistogram {
  return new Histogram({
    name: 'parley_http_request_duration_seconds',
    help: 'HTTP requests served, by route template, method and status class (2xx..5xx)',
    labelNames: ['route', 'method', 'status_class'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Bounded label values: unknown methods collapse to OTHER, statuses to their class. */
export function httpLabels(route: string, method: string | undefined, status: number) {
  return { route, method: KNOWN_METHODS.has(method ?? '') ? method! : 'OTHER', status_class: `${Math.floor(status / 100)}xx` };
}

/** A gauge-style dependency signal (1 up, 0 down) shared by both services, for the unreachable alerts. */
export const DEPENDENCY_UP = 'parley_dependency_up';
