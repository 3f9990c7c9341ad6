/**
 * A job worker's service (`gantry run`), beside web.ts: the job module, loaded once, started when the
 * worker would listen, and stopped when it would drain: no more work taken, what runs finishes (or is
 * released by the module) within the graceful timeout. What each job is doing is on the in-flight board,
 * for the watchdog's report, in a list, for a stop that runs out of time, and in the job metrics.
 */
import type { Logger } from '../../logger.js';
import { type JobContext, type JobWorker, loadJobWorker } from '../app/job-worker.js';
import type { InFlightBoard } from '../http/in-flight-board.js';
import type { WorkerSpec } from '../messages.js';
import { withTimeLimit } from '../../time-limit.js';
import type { JobOutcome } from './job-metrics.js';
import type { WorkerRegistry } from './metrics.js';

export class JobService {
  readonly #worker: JobWorker;
  readonly #context: JobContext;
  readonly #stopping: AbortController;
  readonly #running: Map<number, string>;
  readonly #logger: Logger;

  private constructor(
    worker: JobWorker,
    context: JobContext,
    stopping: AbortController,
    running: Map<number, string>,
    logger: Logger,
  ) {
    this.#worker = worker;
    this.#context = context;
    this.#stopping = stopping;
    this.#running = running;
    this.#logger = logger;
  }

  static async load(
    spec: WorkerSpec,
    logger: Logger,
    board: InFlightBoard | undefined,
    registry: WorkerRegistry | undefined,
  ): Promise<JobService> {
    const stopping = new AbortController();
    const running = new Map<number, string>();
    // prom-client is loaded only where metrics are on.
    const metrics = registry ? new (await import('./job-metrics.js')).JobMetrics(registry.registry) : undefined;
    let next = 0;
    const context: JobContext = {
      workerId: spec.workerId,
      workers: spec.settings.workers,
      signal: stopping.signal,
      async track(what, work, { queue = 'default' } = {}) {
        const id = next++;
        running.set(id, what);
        const slot = board?.begin('JOB', what);
        metrics?.begin(queue);
        const started = performance.now();
        let outcome: JobOutcome = 'failed';
        try {
          const result = await work();
          outcome = 'completed';
          return result;
        } finally {
          metrics?.end(queue, outcome, (performance.now() - started) / 1000);
          running.delete(id);
          if (slot !== undefined) board?.end(slot);
        }
      },
    };
    const worker = await loadJobWorker(spec.app, { cwd: spec.cwd, context });
    logger.debug(`job worker ${spec.app} loaded`);
    return new JobService(worker, context, stopping, running, logger);
  }

  /** Starts taking work: the worker is serving once the module's start() has resolved. */
  async listen(): Promise<void> {
    await this.#worker.start(this.#context);
  }

  /** Stops taking work; resolves once the module's stop() has, or `timeoutMs` has passed (then says what still ran). */
  async drain(timeoutMs: number): Promise<void> {
    this.#stopping.abort();
    const stopped = Promise.resolve()
      .then(() => this.#worker.stop({ timeoutMs }))
      .then(
        () => true,
        (error: unknown) => {
          this.#logger.error({ err: error }, "the job worker's stop() failed");
          return true;
        },
      );
    if (await withTimeLimit(stopped, timeoutMs, () => false)) return;
    const running = [...this.#running.values()];
    this.#logger.warn(
      { running },
      `graceful timeout: the job worker's stop() did not finish within ${timeoutMs / 1000} s` +
        (running.length > 0 ? `; still running: ${running.join(', ')}` : ''),
    );
  }

  /** Fast stop: the module is told to stop (without waiting); the process exits next. */
  destroy(): void {
    this.#stopping.abort();
    void Promise.resolve()
      .then(() => this.#worker.stop({ timeoutMs: 0 }))
      .catch(() => {});
  }
}
