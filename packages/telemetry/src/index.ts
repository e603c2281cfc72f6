// Metrics helpers shared by admin and chat (pool gauges, the HTTP RED histogram).
export { registerPoolMetrics } from './pool-metrics.ts';
export { httpRequestHistogram, httpLabels, HTTP_BUCKETS, DEPENDENCY_UP, type HttpHistogram } from './http-metrics.ts';
