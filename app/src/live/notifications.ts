/**
 * A worker's one LISTEN connection (PostgreSQL's LISTEN/NOTIFY): handlers per channel, and a
 * reconnection with backoff when the database goes away or restarts. Notifications sent while it was
 * away are lost to it, so it says when it is back (`onReconnect`), and feeds catch up from the table.
 */
import pg from 'pg';

interface Log {
  warn(fields: object, message: string): void;
  info(message: string): void;
}

const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5000;

export class Notifications {
  readonly #options: pg.ClientConfig;
  readonly #log: Log;
  readonly #handlers = new Map<string, Set<(payload: string) => void>>();
  readonly #reconnected = new Set<() => void>();
  /** The connection being made or in use; undefined while waiting to retry. */
  #client: pg.Client | undefined;
  #retryMs = RETRY_FIRST_MS;
  #retry: NodeJS.Timeout | undefined;
  #lost = false;
  #closed = false;

  constructor(options: pg.ClientConfig, log: Log) {
    this.#options = options;
    this.#log = log;
  }

  /** Calls `handler` with each notification's payload on `channel`. Call before start(). */
  listen(channel: string, handler: (payload: string) => void): void {
    const handlers = this.#handlers.get(channel) ?? new Set();
    handlers.add(handler);
    this.#handlers.set(channel, handlers);
  }

  /** Calls `handler` each time the connection is (re)established and listening, the first time included. */
  onConnected(handler: () => void): void {
    this.#reconnected.add(handler);
  }

  /** Connects in the background: a database that is away at boot is retried, never a boot failure. */
  start(): void {
    void this.#connect();
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client(this.#options);
    this.#client = client;
    // Without a listener a dropped connection's 'error' would crash the worker.
    client.on('error', (error) => this.#onLost(client, error));
    client.on('end', () => this.#onLost(client));
    client.on('notification', ({ channel, payload }) => {
      for (const handler of this.#handlers.get(channel) ?? []) handler(payload ?? '');
    });
    try {
      await client.connect();
      for (const channel of this.#handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (error) {
      this.#onLost(client, error as Error);
      return;
    }
    if (this.#closed) return void client.end();
    this.#retryMs = RETRY_FIRST_MS;
    if (this.#lost) this.#log.info('listening for live updates again');
    this.#lost = false;
    for (const handler of this.#reconnected) handler();
  }

  #onLost(client: pg.Client, error?: Error): void {
    // Only the current connection's first sign of trouble counts (an error is followed by an end).
    if (this.#closed || this.#client !== client) return;
    this.#client = undefined;
    if (!this.#lost) {
      this.#log.warn({ err: error?.message ?? 'connection ended' }, 'lost the live-updates connection; reconnecting');
    }
    this.#lost = true;
    client.end().catch(() => {});
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.#connect();
    }, this.#retryMs);
    this.#retryMs = Math.min(RETRY_MAX_MS, this.#retryMs * 2);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    await this.#client?.end().catch(() => {});
  }
}
