// JSON logs on stdout (pino). Secrets are redacted by path so a careless log call cannot leak them.
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["sec-websocket-protocol"]',
  'req.headers["x-internal-token"]',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
  'sessionId',
  '*.sessionId',
];

export function createLogger(service: string, level: string = process.env.LOG_LEVEL ?? 'info', extra: LoggerOptions = {}): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
    ...extra,
  });
}

/** The edge's rule (deploy/nginx/parley.conf.template): 1-64 of [A-Za-z0-9._-]. The apps apply the same
 * rule, so a request that bypasses the edge (a probe, a pod-to-pod call) cannot log a longer or odder id. */
const REQUEST_ID_FORMAT = /^[A-Za-z0-9._-]{1,64}$/;

/** A request id from the edge is kept if it looks sane; otherwise a new one is made. */
export function acceptRequestId(header: string | string[] | undefined, generate: () => string): string {
  const value = Array.isArray(header) ? header[0] : header;
  if (value && REQUEST_ID_FORMAT.test(value)) return value;
  return generate();
}
export { DependencyStatus } from './dependency-status.ts';
