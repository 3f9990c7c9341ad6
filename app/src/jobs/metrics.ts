/**
 * The queue's metrics, from pg-boss (a job worker's part; gantry counts the jobs it runs itself in
 * gantry_jobs_total and gantry_job_duration_seconds): jobs by queue and state, as pg-boss's monitor
 * last counted them (every 5 s, queue.ts), how long the oldest ready job has waited, and the jobs this
 * worker started again after a failure. The first two describe the database, not the worker, so every
 * job worker reports the same numbers and the primary keeps one ('max'), not their sum.
 */
import type { PgBoss } from 'pg-boss';
import { Counter, Gauge, Registry } from 'prom-client';

export interface QueueMetrics {
  readonly registry: Registry;
  /** A job that starts again after a failure (a retry). */
  retried(queue: string): void;
}

export function queueMetrics(boss: PgBoss, queues: readonly string[]): QueueMetrics {
  const registry = new Registry();
  const registers = [registry];
  // prom-client calls each gauge's collect() per scrape: both read pg-boss's counts, sharing a read under way.
  const collect = () => read();
  const jobs = new Gauge({
    name: 'app_queue_jobs',
    help: 'Jobs in each queue, by state (ready: waiting to run now; deferred: waiting for a retry delay or a start time; failed: given up, retained)',
    labelNames: ['queue', 'state'],
    aggregator: 'max',
    registers,
    collect,
  });
  const oldest = new Gauge({
    name: 'app_queue_oldest_ready_age_seconds',
    help: 'How long the oldest job ready to run has waited, by queue (growing: the job workers do not keep up)',
    labelNames: ['queue'],
    aggregator: 'max',
    registers,
    collect,
  });
  const retries = new Counter({
    name: 'app_job_retries_total',
    help: 'Jobs started again after a failed attempt (their worker threw, stopped or died), by queue',
    labelNames: ['queue'],
    registers,
  });
  for (const queue of queues) retries.inc({ queue }, 0);
  // A database that is away leaves the gauges empty for that scrape.
  let reading: Promise<void> | undefined;
  const read = (): Promise<void> =>
    (reading ??= boss
      .getQueues([...queues])
      .then((found) => {
        jobs.reset();
        oldest.reset();
        for (const queue of found) {
          jobs.set({ queue: queue.name, state: 'ready' }, queue.readyCount);
          jobs.set({ queue: queue.name, state: 'deferred' }, queue.deferredCount + queue.blockedCount);
          jobs.set({ queue: queue.name, state: 'active' }, queue.activeCount);
          jobs.set({ queue: queue.name, state: 'failed' }, queue.failedCount);
          oldest.set({ queue: queue.name }, queue.readyCount > 0 ? (queue.readyOldestSeconds ?? 0) : 0);
        }
      })
      .catch(() => {})
      .finally(() => (reading = undefined)));
  return { registry, retried: (queue) => retries.inc({ queue }) };
}
