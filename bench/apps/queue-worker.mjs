// The queue benchmark's job worker, the same module under `gantry run` and under bare node:cluster
// (bare-queue-cluster.mjs): pg-boss taking jobs from BENCH_QUEUE as the example's job workers take
// exports (one at a time; back to back through a backlog, else on NOTIFY or every half second), and
// each job one row written: which job, sent when (by the bench), started when.
import pg from 'pg';
import { PgBoss } from 'pg-boss';

const connectionString = process.env.BENCH_DATABASE;
const queue = process.env.BENCH_QUEUE;

export default function benchWorker(context) {
  const pool = new pg.Pool({ connectionString, max: 2 });
  pool.on('error', () => {});
  const boss = new PgBoss({
    connectionString,
    max: 2,
    migrate: false,
    schedule: false,
    reindex: false,
    superviseIntervalSeconds: 5,
    monitorIntervalSeconds: 5,
    queueCacheIntervalSeconds: 5,
    useListenNotify: true,
  });
  boss.on('error', () => {});
  return {
    async start() {
      await boss.start();
      const polling = { pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 1, burstWhenReadyExceeds: 1 };
      await boss.work(queue, { batchSize: 1, ...polling }, async ([job]) => {
        const startedMs = Date.now();
        await context.track(
          `bench job ${job.id}`,
          () =>
            pool.query('INSERT INTO bench_job_runs (job_id, queue, sent_ms, started_ms) VALUES ($1, $2, $3, $4)', [
              job.id,
              queue,
              job.data.sentMs,
              startedMs,
            ]),
          { queue },
        );
      });
    },
    async stop({ timeoutMs }) {
      await boss.stop({ graceful: true, timeout: Math.max(1000, timeoutMs - 500), close: true });
      await pool.end();
    },
  };
}
