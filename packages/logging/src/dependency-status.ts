// One log line when a dependency (Postgres, Redis) becomes unavailable and one when it is back, with
// the number of failures seen meanwhile: an outage under load would otherwise log one line per failed
// operation (tens per second per process). The status also drives readiness.
import type { Logger } from 'pino';

export class DependencyStatus {
  private available = true;
  private failures = 0;
  private downSince = 0;
  /** Outages seen since start (for metrics and tests). */
  outages = 0;

  constructor(private readonly log: Logger, readonly name: string) {}

  get up(): boolean {
    return this.available;
  }

  /** An operation failed because the dependency is unavailable. Only the first failure of an outage is logged. */
  failed(err: unknown): void {
    this.failures++;
    if (!this.available) return;
    this.available = false;
    this.failures = 1;
    this.downSince = Date.now();
    this.outages++;
    this.log.warn({ dependency: this.name, err: errorMessage(err) }, `${this.name} unavailable; failures are counted until it is back`);
  }

  /** An operation succeeded: ends an outage (logged once). */
  succeeded(): void {
    if (this.available) return;
    this.available = true;
    this.log.info({ dependency: this.name, failures: this.failures, downMs: Date.now() - this.downSince }, `${this.name} available again`);
  }
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
