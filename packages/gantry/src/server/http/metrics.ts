/**
 * A worker's Prometheus metrics (prom-client): requests by method, route pattern and status class, their
 * duration, the requests in flight, the thread pool, and prom-client's process metrics (memory, CPU,
 * event-loop lag, GC) labelled with the worker's id. The primary asks each worker for its metrics and
 * aggregates them (status-server.ts); nothing is recorded unless `metrics-bind` is set.
 *
 * Labels stay bounded: the method is one of the standard ones or OTHER, the route is the pattern the
 * framework matched (never the raw path) or "other", the status is its class (2xx).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type MetricObjectWithValues,
  type MetricValue,
} from 'prom-client';
import { threadStats } from '../../threads.js';
import { routeOf } from './route.js';

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Fine below 10 ms, where a node server answers most requests. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * prom-client samples event-loop delay every 10 ms by default and reports the sampling interval along
 * with the lag, so an idle loop would show 10+ ms; at 1 ms (a thousand cheap timer wake-ups a second,
 * only with metrics on) an idle loop shows about 1 ms.
 */
export const EVENT_LOOP_PRECISION_MS = 1;

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'method' | 'route' | 'status_class'>;
  readonly #duration: Histogram<'method' | 'route' | 'status_class'>;
  readonly #inFlight: Gauge;

  constructor(workerId: number) {
    const registers = [this.registry];
    collectDefaultMetrics({
      register: this.registry,
      labels: { worker: String(workerId) },
      eventLoopMonitoringPrecision: EVENT_LOOP_PRECISION_MS,
    });
    this.#requests = new Counter({
      name: 'gantry_http_requests_total',
      help: 'Requests answered, by method, route pattern and status class',
      labelNames: ['method', 'route', 'status_class'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'gantry_http_request_duration_seconds',
      help: 'Time from the request to the end of its response, by method, route pattern and status class',
      labelNames: ['method', 'route', 'status_class'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#inFlight = new Gauge({ name: 'gantry_http_requests_in_flight', help: 'Requests being served', registers });
    new Gauge({
      name: 'gantry_thread_pool_queued',
      help: 'Tasks waiting for a thread of the gantry/threads pool',
      labelNames: ['worker'],
      registers,
      collect() {
        this.set({ worker: String(workerId) }, threadStats()?.queued ?? 0);
      },
    });
  }

  begin(): void {
    this.#inFlight.inc();
  }

  end(req: IncomingMessage, res: ServerResponse, seconds: number): void {
    const method = req.method !== undefined && METHODS.has(req.method) ? req.method : 'OTHER';
    const labels = { method, route: routeOf(req), status_class: `${Math.floor(res.statusCode / 100)}xx` };
    this.#requests.inc(labels);
    this.#duration.observe(labels, seconds);
    this.#inFlight.dec();
  }

  snapshot(): Promise<MetricsJson> {
    return this.registry.getMetricsAsJSON();
  }
}

/** The counters and histograms of a snapshot: what stays meaningful, summed, after the worker is gone. */
export function cumulativeOnly(metrics: MetricsJson): MetricsJson {
  return metrics.filter((metric) => ['counter', 'histogram'].includes(String(metric.type)));
}
