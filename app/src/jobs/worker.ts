/**
 * The example's job workers: `gantry run dist/src/jobs/worker.js`. Each takes export jobs from pg-boss
 * (one at a time, tracked so that gantry's watchdog names the export a stuck worker was on), and marks
 * as failed the exports whose jobs were dead-lettered. Its stop is pg-boss's graceful stop within the
 * budget gantry gives: running jobs finish, or are left to a retry by another worker, never lost.
 */
import type { JobContext, JobWorker } from 'gantry';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import { config } from '../config/index.js';
import { connectionOptions, describeDatabaseError } from '../db/connection.js';
import { handleConnectionErrors } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { ExportStore } from '../exports/exports.js';
import { EXPORTS_DEAD_LETTER, EXPORTS_QUEUE, type ExportJob, openQueue } from './queue.js';

export default function exportWorker(context: JobContext): JobWorker {
  const log = pino({ level: config.LOG_LEVEL, base: { role: 'jobs', worker: context.workerId } });
  const pool = new pg.Pool({ ...connectionOptions(config), max: 2 });
  handleConnectionErrors(pool, log);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const store = new ExportStore(db);
  const boss = openQueue(config, { supervise: true });
  boss.on('error', (error) => log.warn({ err: describeDatabaseError(error) }, 'the queue had an error; it retries by itself'));
  const batch = { batchSize: config.EXPORT_BATCH_SIZE, batchDelayMs: config.EXPORT_BATCH_DELAY_MS };

  return {
    async start() {
      await boss.start();
      await boss.work<ExportJob>(EXPORTS_QUEUE, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
        if (!job) return;
        const { exportId } = job.data;
        await context.track(`export ${exportId} (job ${job.id}, retry ${job.retryCount})`, async () => {
          try {
            await store.run(exportId, { ...batch, signal: job.signal });
            log.info({ exportId, job: job.id }, 'export completed');
          } catch (error) {
            log.warn({ exportId, job: job.id, err: describeDatabaseError(error) }, 'export failed; pg-boss retries it');
            throw error;
          }
        });
      });
      await boss.work<ExportJob & { error?: unknown }>(EXPORTS_DEAD_LETTER, { pollingIntervalSeconds: 1 }, async (jobs) => {
        for (const job of jobs) await store.fail(job.data.exportId, 'the export failed after every retry');
      });
      log.info(`job worker ${context.workerId} takes jobs from ${EXPORTS_QUEUE}`);
    },
    async stop({ timeoutMs }) {
      // Running jobs get the budget (less a margin for closing); what is still running then is failed back to the queue and retried.
      await boss.stop({ graceful: true, timeout: Math.max(1000, timeoutMs - 500), close: true });
      await db.destroy();
    },
  };
}
