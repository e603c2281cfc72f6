// The environment of a Parley process, built from one description of the deployment it belongs to.
// Every launcher (npm start, npm run stack, the test stack, the benchmark, the conformance test) builds
// its services' environment here, so a setting is added, renamed or removed in one place. The names are
// the ones apps/admin/src/config.ts and apps/chat/src/config.ts validate (packages do not import apps).

/** The shared secrets every service of a deployment is started with. */
export interface ServiceSecrets {
  INTERNAL_TOKEN: string;
  CHAT_TOKEN_SECRET: string;
  /** Read by admin only. */
  SESSION_SECRET: string;
}

/** What the processes of one deployment share. */
export interface Deployment {
  /** development, production or test; passed on as given (the services validate it). */
  nodeEnv: string;
  logLevel: string;
  databaseUrl: string;
  /** Unset: embedded mode (sessions, limits and fan-out in Postgres). */
  redisUrl?: string;
  /** Unset: the services' default (`parley:`). */
  redisPrefix?: string;
  /** The address people use; chat allows its origin for WebSockets. */
  publicUrl: string;
  secrets: ServiceSecrets;
  /** Listen address (unset: the services' default, 0.0.0.0). */
  host?: string;
  /** Passed to every service as given (e.g. OTEL_* settings). */
  extra?: Record<string, string>;
}

export interface AdminProcessSpec {
  service: 'admin';
  port: number;
  /** Where admin calls chat's internal API. */
  chatInternalUrl: string;
  /** WebSocket URL handed to browsers; '' = same origin /socket (behind the edge). */
  chatPublicUrl: string;
  /** This admin's own public address, when it differs from the deployment's. */
  publicUrl?: string;
  trustProxy?: string;
  /** The first admin account, created at start if missing. */
  firstAdmin?: { email: string; password: string };
}

export interface ChatProcessSpec {
  service: 'chat';
  port: number;
  replicaId: string;
  /** Origins allowed besides the public URL's. */
  allowedOrigins?: string[];
  drainDelayMs?: number;
  shutdownTimeoutMs?: number;
}

export interface MigrateProcessSpec {
  service: 'migrate';
  connectTimeoutMs?: number;
}

export type ProcessSpec = AdminProcessSpec | ChatProcessSpec | MigrateProcessSpec;

/** Where a service's dependencies are: the part of the environment that differs per run. */
export function dependencyEnv(d: Pick<Deployment, 'databaseUrl' | 'redisUrl' | 'redisPrefix'>): Record<string, string> {
  return {
    DATABASE_URL: d.databaseUrl,
    ...(d.redisUrl ? { REDIS_URL: d.redisUrl } : {}),
    ...(d.redisPrefix ? { REDIS_KEY_PREFIX: d.redisPrefix } : {}),
  };
}

/** Where a service listens. */
export function listenEnv(port: number, host?: string): Record<string, string> {
  return { PORT: String(port), ...(host ? { HOST: host } : {}) };
}

/** The environment of one process of the deployment `d`. */
export function serviceEnv(d: Deployment, spec: ProcessSpec): Record<string, string> {
  if (spec.service === 'migrate') {
    return {
      LOG_LEVEL: d.logLevel,
      DATABASE_URL: d.databaseUrl,
      ...(spec.connectTimeoutMs === undefined ? {} : { DB_CONNECT_TIMEOUT_MS: String(spec.connectTimeoutMs) }),
    };
  }
  const common = {
    ...d.extra,
    NODE_ENV: d.nodeEnv,
    LOG_LEVEL: d.logLevel,
    ...dependencyEnv(d),
    INTERNAL_TOKEN: d.secrets.INTERNAL_TOKEN,
    CHAT_TOKEN_SECRET: d.secrets.CHAT_TOKEN_SECRET,
    ...listenEnv(spec.port, d.host),
  };
  if (spec.service === 'admin') {
    return {
      ...common,
      PUBLIC_URL: spec.publicUrl ?? d.publicUrl,
      SESSION_SECRET: d.secrets.SESSION_SECRET,
      CHAT_INTERNAL_URL: spec.chatInternalUrl,
      CHAT_PUBLIC_URL: spec.chatPublicUrl,
      ...(spec.trustProxy === undefined ? {} : { TRUST_PROXY: spec.trustProxy }),
      ...(spec.firstAdmin ? { PARLEY_ADMIN_EMAIL: spec.firstAdmin.email, PARLEY_ADMIN_PASSWORD: spec.firstAdmin.password } : {}),
    };
  }
  return {
    ...common,
    PUBLIC_URL: d.publicUrl,
    REPLICA_ID: spec.replicaId,
    ...(spec.allowedOrigins?.length ? { ALLOWED_ORIGINS: spec.allowedOrigins.join(',') } : {}),
    ...(spec.drainDelayMs === undefined ? {} : { DRAIN_DELAY_MS: String(spec.drainDelayMs) }),
    ...(spec.shutdownTimeoutMs === undefined ? {} : { SHUTDOWN_TIMEOUT_MS: String(spec.shutdownTimeoutMs) }),
  };
}
