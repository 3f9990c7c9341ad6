/**
 * A web worker's database: one node-postgres pool (a pool is per process: the server's budget is
 * workers x (DB_POOL_MAX + the readiness checks' one + the live updates' LISTEN)), typed queries through Kysely, the pool's gauges
 * and query durations as Prometheus metrics, and the readiness checks gantry runs for PREFIX/ready.
 * The pool never crashes the worker: a connection the server drops is logged and replaced on next use.
 */
import { addReadinessCheck, collectMetrics } from 'gantry/app';
import { Kysely, type LogEvent, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { Gauge, Histogram, Registry } from 'prom-client';
import { type ConnectionConfig, connectionOptions, describeDatabaseError } from './connection.js';
import { pendingMigrations } from './migrations.js';
import { preparedStatements } from './prepared-statements.js';
import type { Database } from './schema.js';

interface Log {
  warn(fields: object, message: string): void;
  info(message: string): void;
}

/** Query durations by the statement's kind (select, insert...): a bounded label, unlike the SQL text. */
function statementKind(sqlText: string): string {
  const word = /^\s*(\w+)/.exec(sqlText)?.[1]?.toLowerCase() ?? 'other';
  return ['select', 'insert', 'update', 'delete', 'with'].includes(word) ? word : 'other';
}

function poolMetrics(pool: pg.Pool): { registry: Registry; observe: (event: LogEvent) => void } {
  const registry = new Registry();
  new Gauge({
    name: 'app_db_pool_connections',
    help: "The database pools' connections, by state (total: open, idle: open and unused), summed over workers",
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
    },
  });
  new Gauge({
    name: 'app_db_pool_waiting',
    help: 'Queries waiting for a connection of a full pool (above 0 for long: DB_POOL_MAX or the database is the limit)',
    registers: [registry],
    collect() {
      this.set(pool.waitingCount);
    },
  });
  const durations = new Histogram({
    name: 'app_db_query_duration_seconds',
    help: 'Database query durations, by statement kind and outcome',
    labelNames: ['statement', 'outcome'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const observe = (event: LogEvent) => {
    const labels = { statement: statementKind(event.query.sql), outcome: event.level === 'query' ? 'ok' : 'error' };
    durations.observe(labels, event.queryDurationMillis / 1000);
  };
  return { registry, observe };
}

export interface AppDatabase {
  readonly db: Kysely<Database>;
  /** Ends the pool: after the worker has drained (the app's close). */
  close(): Promise<void>;
}

/** One pool's connection errors handled (see openDatabase): the pool's for idle ones, each client's while checked out. */
export function handleConnectionErrors(pool: pg.Pool, log: Log): void {
  const onError = (error: Error) =>
    log.warn({ err: describeDatabaseError(error) }, 'a database connection failed; a new one is opened on next use');
  pool.on('error', onError);
  pool.on('acquire', (client) => client.on('error', onError));
  pool.on('release', (_error, client) => client.off('error', onError));
}

/** Kysely's dialect over `pool`: its queries sent as named prepared statements unless the setting turns them off. */
export function appDialect(pool: pg.Pool, config: { DB_PREPARED_STATEMENTS: boolean }): PostgresDialect {
  return new PostgresDialect({ pool: config.DB_PREPARED_STATEMENTS ? preparedStatements(pool) : pool });
}

export function openDatabase(config: ConnectionConfig & { DB_PREPARED_STATEMENTS: boolean }, log: Log): AppDatabase {
  // A connection's error (the server shut down or restarted) arrives as an 'error' event, which would
  // crash the worker without a listener: the pool has one for idle connections, and each connection
  // gets one while it is checked out (for the moment between its queries). The query under way fails
  // by itself (503).
  const pool = new pg.Pool(connectionOptions(config));
  handleConnectionErrors(pool, log);
  const metrics = poolMetrics(pool);
  collectMetrics(metrics.registry);
  const db = new Kysely<Database>({
    dialect: appDialect(pool, config),
    log: metrics.observe,
  });

  // The readiness checks have a connection of their own: behind a full pool's queue they would miss
  // their limit and report a busy worker unready, just when it is needed most.
  const probePool = new pg.Pool({ ...connectionOptions(config), max: 1, connectionTimeoutMillis: 1000 });
  handleConnectionErrors(probePool, log);
  const probe = new Kysely<Database>({ dialect: new PostgresDialect({ pool: probePool }) });
  addReadinessCheck('database', () => sql`SELECT 1`.execute(probe), { timeoutMs: 1000 });
  // Once current, the schema stays current for this worker's life: the check then costs nothing.
  let schemaCurrent = false;
  addReadinessCheck(
    'schema',
    async () => {
      if (schemaCurrent) return;
      const pending = await pendingMigrations(probe);
      if (pending.length > 0) {
        throw new Error(
          `${pending.length} migration(s) not applied (${pending.join(', ')}): run the migrations (npm run migrate)`,
        );
      }
      schemaCurrent = true;
    },
    { timeoutMs: 2000 },
  );
  return {
    db,
    close: async () => {
      await Promise.all([db.destroy(), probe.destroy()]);
      log.info('database pools closed');
    },
  };
}
