/**
 * A worker's Prometheus registry: its process metrics and its thread pool, plus whatever its service
 * records (http/metrics.ts for a web worker). The primary asks for it as JSON and aggregates it
 * (primary/metrics.ts); nothing is recorded unless `metrics-bind` is set.
 */
import { Gauge, Registry } from 'prom-client';
import { threadStats } from '../../threads.js';
import { type MetricsJson, collectProcessMetrics } from '../process-metrics.js';

export class WorkerRegistry {
  readonly registry = new Registry();

  constructor(workerId: number) {
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

  snapshot(): Promise<MetricsJson> {
    return this.registry.getMetricsAsJSON();
  }
}
