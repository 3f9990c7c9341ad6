/**
 * The queue: pg-boss on the app's PostgreSQL (no second datastore; a job is created in the same
 * transaction as the row it belongs to). Its schema and the queues are made by the migration step
 * (npm run migrate), never by a worker: web and job workers start pg-boss with `migrate: false`.
 * The exports queue: retries with exponential backoff, a dead-letter queue for what keeps failing,
 * an expiry, and heartbeats, so a job whose worker died is retried within seconds rather than at expiry.
 */
import { PgBoss, type Queue } from 'pg-boss';
import { type ConnectionConfig, connectionOptions } from '../db/connection.js';

export const EXPORTS_QUEUE = 'exports';
/** A job worker's connections: its pool for the work, pg-boss's for taking jobs, and pg-boss's LISTEN (the budget counts all). */
export const JOB_WORKER_POOL_MAX = 2;
export const QUEUE_POOL_MAX = 2;
export const QUEUE_LISTEN_CONNECTIONS = 1;
export const EXPORTS_DEAD_LETTER = 'exports-failed';

export const QUEUES: readonly (Queue & { name: string })[] = [
  { name: EXPORTS_DEAD_LETTER, retentionSeconds: 7 * 24 * 3600 },
  {
    name: EXPORTS_QUEUE,
    retryLimit: 3,
    retryDelay: 1,
    retryBackoff: true,
    retryDelayMax: 30,
    expireInSeconds: 15 * 60,
    heartbeatSeconds: 10, // pg-boss's least
    deadLetter: EXPORTS_DEAD_LETTER,
    // A new export wakes a job worker at once (NOTIFY, sent when the row's transaction commits).
    notify: true,
  },
];

export interface ExportJob {
  readonly exportId: number;
}

export interface QueueRole {
  /** Job workers maintain the queue (expiry, retries of dead workers' jobs); web workers only send. */
  readonly supervise: boolean;
  /** The migration step alone creates and upgrades pg-boss's schema. */
  readonly migrate?: boolean;
}

export function openQueue(config: ConnectionConfig, { supervise, migrate = false }: QueueRole, max = QUEUE_POOL_MAX): PgBoss {
  const { connectionString } = connectionOptions(config);
  return new PgBoss({
    connectionString: connectionString ?? '',
    max,
    application_name: 'gantry-example-queue',
    migrate,
    supervise,
    // Job workers: supervision every 5 s (pg-boss's default is a minute), so a job whose worker died,
    // missing its heartbeats (10 s), is failed back to the queue within about 15 s; the queue counts
    // as fresh, for the burst through a backlog (worker.ts) and the metrics; and a LISTEN connection of
    // its own, woken by each new job's NOTIFY.
    ...(supervise
      ? { superviseIntervalSeconds: 5, monitorIntervalSeconds: 5, queueCacheIntervalSeconds: 5, useListenNotify: true }
      : {}),
    // Rebuilding indexes is DDL, the owner's: the app role (compose, Kubernetes) may not.
    reindex: false,
    schedule: false,
  });
}

/** Creates pg-boss's schema (or upgrades it) and the queues: the migration step's part. */
export async function migrateQueue(config: ConnectionConfig): Promise<void> {
  const boss = openQueue(config, { supervise: false, migrate: true }, 1);
  boss.on('error', () => {});
  await boss.start();
  try {
    for (const { name, ...options } of QUEUES) {
      if (await boss.getQueue(name)) await boss.updateQueue(name, options);
      else await boss.createQueue(name, options);
    }
  } finally {
    await boss.stop({ graceful: false, close: true });
  }
}
