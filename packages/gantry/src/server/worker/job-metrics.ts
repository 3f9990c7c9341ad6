/**
 * The job metrics of a job worker (prom-client), on its registry (metrics.ts), recorded by the context's
 * track(): jobs run, by queue and outcome (completed or failed: the work threw), their duration, and the
 * jobs running now. What a queue holds (queued, retrying, dead-lettered, the oldest waiting) is the
 * queue's to say: the app reads it from its database (the example's jobs/metrics.ts).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** From a tenth of a second to the 15 minutes a long export may take. */
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];

export type JobOutcome = 'completed' | 'failed';

export class JobMetrics {
  readonly #jobs: Counter<'queue' | 'outcome'>;
  readonly #duration: Histogram<'queue' | 'outcome'>;
  readonly #running: Gauge<'queue'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#jobs = new Counter({
      name: 'gantry_jobs_total',
      help: 'Jobs run by job workers, by queue and outcome (failed: the work threw; the queue may retry it)',
      labelNames: ['queue', 'outcome'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'gantry_job_duration_seconds',
      help: 'Time a job worker spent on a job, by queue and outcome',
      labelNames: ['queue', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#running = new Gauge({
      name: 'gantry_jobs_running',
      help: 'Jobs being run by job workers, by queue',
      labelNames: ['queue'],
      registers,
    });
  }

  begin(queue: string): void {
    // Every outcome appears from the first job, so that rate() and increase() see the first failure.
    for (const outcome of ['completed', 'failed'] as const) this.#jobs.inc({ queue, outcome }, 0);
    this.#running.inc({ queue });
  }

  end(queue: string, outcome: JobOutcome, seconds: number): void {
    this.#jobs.inc({ queue, outcome });
    this.#duration.observe({ queue, outcome }, seconds);
    this.#running.dec({ queue });
  }
}
