/**
 * A worker's Prometheus registry: its process metrics and its thread pool, plus whatever its service
 * records (http/metrics.ts for a web worker), and the app's own registries (gantry/app's collectMetrics).
 * The primary asks for it as JSON and aggregates it (primary/metrics.ts); nothing is recorded unless
 * `metrics-bind` is set.
 */
import { Gauge, Registry } from 'prom-client';
import { appHooks } from '../../app-hooks.js';
import type { Logger } from '../../logger.js';
import { threadStats } from '../../threads.js';
import { type MetricsJson, collectProcessMetrics } from '../process-metrics.js';

export class WorkerRegistry {
  readonly registry = new Registry();
  readonly #logger: Logger;
  readonly #clashes = new Set<string>();

  constructor(workerId: number, logger: Logger) {
    this.#logger = logger;
    collectProcessMetrics(this.registry, String(workerId));
    new Gauge({
      name: 'gantry_thread_pool_queued',
      help: 'Tasks waiting for a thread of the gantry/threads pool',
      labelNames: ['worker'],
      registers: [this.registry],
      collect() {
        this.set({ worker: String(workerId) }, threadStats()?.queued ?? 0);
      },
    });
  }

  /** gantry's metrics, then the app's (gantry/app's collectMetrics), but none that would take a name of gantry's. */
  async snapshot(): Promise<MetricsJson> {
    const metrics = await this.registry.getMetricsAsJSON();
    const names = new Set(metrics.map((metric) => metric.name));
    for (const source of appHooks().metrics) {
      for (const metric of (await source.getMetricsAsJSON()) as MetricsJson) {
        if (names.has(metric.name)) {
          this.#warnClash(metric.name);
          continue;
        }
        names.add(metric.name);
        metrics.push(metric);
      }
    }
    return metrics;
  }

  #warnClash(name: string): void {
    if (this.#clashes.has(name)) return;
    this.#clashes.add(name);
    this.#logger.warn(`the app's metric ${name} has the name of one of gantry's (or of another registry's): left out`);
  }
}
