/**
 * The example's job workers: `gantry run dist/src/jobs/worker.js`. Each takes export jobs from pg-boss
 * (one at a time, tracked so that gantry's watchdog names the export a stuck worker was on and gantry's
 * job metrics count it), and marks as failed the exports whose jobs were dead-lettered. Its stop is
 * pg-boss's graceful stop within the budget gantry gives: running jobs finish, or are failed back to the
 * queue for a retry by another worker, never lost.
 */
import type { JobContext, JobWorker } from 'gantry';
import { collectMetrics } from 'gantry/app';
import { Kysely } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import { config } from '../config/index.js';
import { connectionOptions, describeDatabaseError } from '../db/connection.js';
import { appDialect, handleConnectionErrors } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { ExportStore } from '../exports/exports.js';
import { queueMetrics } from './metrics.js';
import { EXPORTS_DEAD_LETTER, EXPORTS_QUEUE, type ExportJob, JOB_WORKER_POOL_MAX, openQueue } from './queue.js';

export default function exportWorker(context: JobContext): JobWorker {
  const log = pino({ level: config.LOG_LEVEL, base: { role: 'jobs', worker: context.workerId } });
  const pool = new pg.Pool({ ...connectionOptions(config), max: JOB_WORKER_POOL_MAX });
  handleConnectionErrors(pool, log);
  const db = new Kysely<Database>({ dialect: appDialect(pool, config) });
  const store = new ExportStore(db);
  const boss = openQueue(config, { supervise: true });
  boss.on('error', (error) => log.warn({ err: describeDatabaseError(error) }, 'the queue had an error; it retries by itself'));
  const metrics = queueMetrics(boss, [EXPORTS_QUEUE, EXPORTS_DEAD_LETTER]);
  collectMetrics(metrics.registry);
  const batch = { batchSize: config.EXPORT_BATCH_SIZE, batchDelayMs: config.EXPORT_BATCH_DELAY_MS };
  // The handlers under way: a stop that outlasts the budget waits for them to wind down before closing the pool.
  const running = new Set<Promise<unknown>>();
  const settle = <T>(work: Promise<T>): Promise<T> => {
    running.add(work);
    void work.catch(() => {}).finally(() => running.delete(work));
    return work;
  };

  return {
    async start() {
      await boss.start();
      // One job at a time; fetched back to back while a backlog waits (burst), else every half second
      // or at once on a new job's NOTIFY.
      const polling = { pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 1, burstWhenReadyExceeds: 1 };
      await boss.work<ExportJob>(EXPORTS_QUEUE, { batchSize: 1, ...polling }, async ([job]) => {
        if (!job) return;
        const { exportId } = job.data;
        if (job.retryCount > 0) metrics.retried(EXPORTS_QUEUE);
        const what = `export ${exportId} (job ${job.id}, retry ${job.retryCount})`;
        await settle(
          context.track(
            what,
            async () => {
              try {
                await store.run(exportId, { ...batch, signal: job.signal });
                log.info({ exportId, job: job.id }, 'export completed');
              } catch (error) {
                const reason = describeDatabaseError(error);
                log.warn({ exportId, job: job.id, err: reason }, 'export failed; pg-boss retries it');
                await store.attemptFailed(exportId, reason).catch(() => {});
                throw error;
              }
            },
            { queue: EXPORTS_QUEUE },
          ),
        );
      });
      await boss.work<ExportJob>(EXPORTS_DEAD_LETTER, { pollingIntervalSeconds: 1 }, async (jobs) => {
        for (const job of jobs)
          await context.track(`dead letter of export ${job.data.exportId}`, () => store.fail(job.data.exportId), {
            queue: EXPORTS_DEAD_LETTER,
          });
      });
      log.info(`job worker ${context.workerId} takes jobs from ${EXPORTS_QUEUE}`);
    },
    async stop({ timeoutMs }) {
      // Running jobs get the budget (less a margin for closing). What still runs then is failed back
      // to the queue and its signal aborted: it stops at its next batch and records that on its row.
      const deadline = Date.now() + timeoutMs;
      await boss.stop({ graceful: true, timeout: Math.max(1000, timeoutMs - 1000), close: true });
      const windDown = Math.max(0, deadline - Date.now() - 200);
      await Promise.race([Promise.allSettled(running), new Promise((resolve) => setTimeout(resolve, windDown).unref())]);
      await db.destroy();
    },
  };
}
