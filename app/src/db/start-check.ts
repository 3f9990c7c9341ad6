/**
 * What the server checks once, in its primary, before any worker starts (gantry.config.ts's onStarting):
 * that the database answers, and whether the connections it will open fit. A database that is
 * unreachable or refuses the credentials stops the start with one line saying so, instead of workers
 * that boot into a database they cannot use. Later outages are the readiness checks' business.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { type ConnectionConfig, connectionOptions, describeDatabaseError, describeTarget } from './connection.js';
import { JOB_WORKER_POOL_MAX, QUEUE_LISTEN_CONNECTIONS, QUEUE_POOL_MAX } from '../jobs/queue.js';
import { pendingMigrations } from './migrations.js';

interface Log {
  info(message: string): void;
  warn(message: string): void;
}

export interface BudgetConfig extends ConnectionConfig {
  readonly WEB_REPLICAS: number;
  readonly JOB_WORKERS: number;
}

/** Which server starts: gantry serve's web workers, or gantry run's job workers. */
export interface Starting {
  readonly kind: 'web' | 'jobs';
  readonly workers: number;
}

/** Above this share of the connections the server takes from clients, the budget is worth a warning. */
const BUDGET_WARNING_SHARE = 0.8;

/**
 * The connection budget's line. The web server counts every connection the app opens: each web worker's
 * pool, readiness connection and live updates' LISTEN connection, times the replicas, and every job worker's pool, queue and listener
 * (JOB_WORKERS in all); the job server, its own job workers'.
 */
function budgetLine(
  config: BudgetConfig,
  starting: Starting,
  server: { max: string; reserved: string; version: string },
  target: string,
) {
  const available = Number(server.max) - Number(server.reserved);
  const perJobWorker = JOB_WORKER_POOL_MAX + QUEUE_POOL_MAX + QUEUE_LISTEN_CONNECTIONS;
  const jobWorkers = starting.kind === 'jobs' ? starting.workers : config.JOB_WORKERS;
  const jobs = jobWorkers * perJobWorker;
  const jobsPart = `${jobWorkers} job workers x (pool ${JOB_WORKER_POOL_MAX} + queue ${QUEUE_POOL_MAX} + ${QUEUE_LISTEN_CONNECTIONS} to listen)`;
  const web = starting.workers * (config.DB_POOL_MAX + 2) * config.WEB_REPLICAS;
  const webPart =
    `${starting.workers} workers x (pool ${config.DB_POOL_MAX} + 1 for readiness + 1 for live updates)` +
    `${config.WEB_REPLICAS > 1 ? ` x ${config.WEB_REPLICAS} replicas` : ''}`;
  const budget = starting.kind === 'jobs' ? jobs : web + jobs;
  const parts = starting.kind === 'jobs' ? jobsPart : `${webPart} + ${jobsPart}`;
  const line = `database ${target} (PostgreSQL ${server.version}): connection budget ${parts} = ${budget} of ${available} available (max_connections ${server.max})`;
  return { line, tight: budget > available * BUDGET_WARNING_SHARE };
}

export async function checkDatabaseAtStart(config: BudgetConfig, starting: Starting, log: Log): Promise<void> {
  const target = describeTarget(config);
  // One connection for both questions; a failure after connecting surfaces through the query that fails.
  const pool = new pg.Pool({ ...connectionOptions(config), max: 1 });
  pool.on('error', () => {});
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  try {
    let server: { max: string; reserved: string; version: string };
    try {
      const { rows } = await sql<{ max: string; reserved: string; version: string }>`
        SELECT current_setting('max_connections') AS max,
               current_setting('superuser_reserved_connections')::int
                 + coalesce(current_setting('reserved_connections', true)::int, 0) AS reserved,
               current_setting('server_version') AS version`.execute(db);
      server = rows[0]!;
    } catch (error) {
      throw new Error(`cannot use the database ${target}: ${describeDatabaseError(error)}`, { cause: error });
    }
    const { line, tight } = budgetLine(config, starting, server, target);
    if (tight) {
      log.warn(
        `${line}: that leaves too little for migrations and admin sessions; lower DB_POOL_MAX or workers, or put PgBouncer in front`,
      );
    } else {
      log.info(line);
    }
    const pending = await pendingMigrations(db);
    if (pending.length > 0)
      log.warn(`the schema is behind (${pending.join(', ')} not applied): workers stay unready until the migrations run`);
  } finally {
    await db.destroy();
  }
}
