// LISTEN on one Postgres channel over a dedicated connection that reconnects with capped backoff
// (Postgres may start after us, restart or stop under us). Used by the embedded-mode fan-out bus and
// by the control plane's doorbell.
import pg from 'pg';
import type { Logger } from '@parley/logging';

export interface PgListener {
  /** True while the LISTEN connection is up. */
  listening(): boolean;
  close(): Promise<void>;
}

export interface PgListenerOptions {
  connectionString: string;
  channel: string;
  applicationName: string;
  log: Logger;
  onNotify: (payload: string) => void;
  /** Called after each successful LISTEN but the first: notifications in between may have been lost. */
  onRelisten?: () => void;
}

export function listenPg(options: PgListenerOptions): PgListener {
  const { connectionString, channel, applicationName, log, onNotify, onRelisten } = options;
  let listener: pg.Client | null = null;
  let closed = false;
  let everListened = false;
  let delay = 200;
  let retryTimer: NodeJS.Timeout | null = null;

  // Exactly one reconnect is scheduled however the connection failed ('end', 'error' or a failed connect).
  const scheduleReconnect = () => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void connect();
    }, delay);
    delay = Math.min(delay * 2, 5_000);
  };

  const connect = async () => {
    if (closed) return;
    const client = new pg.Client({ connectionString, application_name: applicationName });
    client.on('error', (err) => {
      log.warn({ err: err.message, channel }, 'postgres listen connection error');
      if (listener === client) listener = null;
      client.end().catch(() => undefined);
      scheduleReconnect();
    });
    client.on('end', () => {
      if (listener === client) listener = null;
      scheduleReconnect();
    });
    client.on('notification', (msg) => {
      if (msg.payload !== undefined) onNotify(msg.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${channel}`);
      if (closed) return void client.end().catch(() => undefined);
      listener = client;
      delay = 200;
      if (everListened) onRelisten?.();
      everListened = true;
    } catch (err) {
      log.warn({ err: (err as Error).message, channel, retryInMs: delay }, 'postgres LISTEN failed; retrying');
      await client.end().catch(() => undefined);
      scheduleReconnect();
    }
  };
  void connect();

  return {
    listening: () => listener !== null,
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      await listener?.end().catch(() => undefined);
    },
  };
}
