/**
 * The primary's own HTTP server, on `metrics-bind` (never an app address):
 *   /metrics      Prometheus text: every worker's metrics and the primary's, aggregated (counters and
 *                 histograms summed; process metrics kept apart by their `worker` label)
 *   /live         200 while the primary runs
 *   /ready        200 once a worker serves, 503 before that and while stopping (a load balancer's check)
 *   /status.json  the same numbers, summed up for the status page
 *   /status       a page for people (status-page.ts)
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { AggregatorRegistry, Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../../logger.js';
import { ErrorCode, GantryError } from '../../errors.js';
import { type BindAddress, bindUrl, formatBind, listenOptions } from '../bind.js';
import { EVENT_LOOP_PRECISION_MS, type MetricsJson } from '../http/metrics.js';
import { STATUS_PAGE } from './status-page.js';

export interface WorkerStatus {
  readonly slot: number;
  readonly pid: number;
  readonly state: 'booting' | 'ready' | 'draining';
  readonly startedAt: number;
}

/** What the arbiter tells the status server. */
export interface StatusSource {
  readonly app: string;
  ready(): boolean;
  workers(): readonly WorkerStatus[];
  /** Every worker's metrics, from those that answer in time. */
  collectWorkerMetrics(): Promise<MetricsJson[]>;
}

const RESTART_REASONS = ['crashed', 'killed', 'hung', 'max_requests', 'memory', 'reload'] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];

/** The metrics only the primary knows: workers by state, restarts by reason, reloads, readiness. */
export class PrimaryMetrics {
  readonly registry = new Registry();
  readonly restarts: Counter<'reason'>;
  readonly reloads: Counter<'result'>;

  constructor(source: StatusSource) {
    const registers = [this.registry];
    collectDefaultMetrics({
      register: this.registry,
      labels: { worker: 'primary' },
      eventLoopMonitoringPrecision: EVENT_LOOP_PRECISION_MS,
    });
    new Gauge({
      name: 'gantry_workers',
      help: 'Worker processes, by state',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = { booting: 0, ready: 0, draining: 0 };
        for (const worker of source.workers()) counts[worker.state]++;
        for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
      },
    });
    new Gauge({
      name: 'gantry_ready',
      help: '1 when the server serves (a worker is ready and it is not stopping), else 0',
      registers,
      collect() {
        this.set(source.ready() ? 1 : 0);
      },
    });
    this.restarts = new Counter({
      name: 'gantry_worker_restarts_total',
      help: 'Workers replaced, by reason: crashed, killed (by a signal, perhaps out of memory), hung, max_requests, memory (max-worker-memory), reload',
      labelNames: ['reason'],
      registers,
    });
    this.reloads = new Counter({
      name: 'gantry_reloads_total',
      help: 'Reloads (SIGHUP), by result',
      labelNames: ['result'],
      registers,
    });
    // Every reason and result appears from the start, so that rate() and increase() see the first one.
    for (const reason of RESTART_REASONS) this.restarts.inc({ reason }, 0);
    for (const result of ['succeeded', 'failed']) this.reloads.inc({ result }, 0);
  }
}

type Sample = { value: number; labels: Record<string, string | number>; metricName?: string };

/** A metric's samples; for a histogram's buckets, name the series: samples(m, 'x', 'x_bucket'). */
function samples(metrics: MetricsJson, name: string, series?: string): Sample[] {
  const values = (metrics.find((metric) => metric.name === name)?.values ?? []) as Sample[];
  return series === undefined ? values : values.filter((sample) => sample.metricName === series);
}

function sum(metrics: MetricsJson, name: string, filter: (labels: Sample['labels']) => boolean = () => true): number {
  return samples(metrics, name)
    .filter((sample) => filter(sample.labels))
    .reduce((total, sample) => total + sample.value, 0);
}

function byLabel(metrics: MetricsJson, name: string, label: string): Record<string, number> {
  const result: Record<string, number> = {};
  for (const sample of samples(metrics, name)) {
    const key = String(sample.labels[label] ?? '');
    result[key] = (result[key] ?? 0) + sample.value;
  }
  return result;
}

/** The numbers the status page shows; counters are cumulative (the page computes rates between polls). */
export function summarize(metrics: MetricsJson, source: StatusSource, startedAt: number) {
  const perWorker = (name: string, worker: string) => sum(metrics, name, (labels) => labels.worker === worker);
  const buckets: Record<string, number> = {};
  for (const sample of samples(metrics, 'gantry_http_request_duration_seconds', 'gantry_http_request_duration_seconds_bucket')) {
    const le = String(sample.labels.le);
    buckets[le] = (buckets[le] ?? 0) + sample.value;
  }
  return {
    app: source.app,
    pid: process.pid,
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    ready: source.ready(),
    requests: {
      total: sum(metrics, 'gantry_http_requests_total'),
      byStatusClass: byLabel(metrics, 'gantry_http_requests_total', 'status_class'),
      inFlight: sum(metrics, 'gantry_http_requests_in_flight'),
      durationBuckets: buckets,
    },
    restarts: byLabel(metrics, 'gantry_worker_restarts_total', 'reason'),
    reloads: byLabel(metrics, 'gantry_reloads_total', 'result'),
    primary: { rssBytes: perWorker('process_resident_memory_bytes', 'primary') },
    workers: source.workers().map((worker) => ({
      ...worker,
      rssBytes: perWorker('process_resident_memory_bytes', String(worker.slot)),
      heapUsedBytes: perWorker('nodejs_heap_size_used_bytes', String(worker.slot)),
      eventLoopLagP99Seconds: perWorker('nodejs_eventloop_lag_p99_seconds', String(worker.slot)),
    })),
  };
}

export class StatusServer {
  readonly #server: Server;
  readonly #bind: BindAddress;
  readonly #source: StatusSource;
  readonly #primary: PrimaryMetrics;
  readonly #log: Logger;
  readonly #startedAt = Date.now();

  constructor(bind: BindAddress, source: StatusSource, primary: PrimaryMetrics, log: Logger) {
    this.#bind = bind;
    this.#source = source;
    this.#primary = primary;
    this.#log = log;
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  async #aggregate(): Promise<Registry> {
    const workers = await this.#source.collectWorkerMetrics();
    const primary = (await this.#primary.registry.getMetricsAsJSON()) as MetricsJson;
    return AggregatorRegistry.aggregate([...workers, primary]);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'GET only\n');
      if (path === '/live') return send(200, 'text/plain', 'ok\n');
      if (path === '/ready') {
        const ready = this.#source.ready();
        return send(ready ? 200 : 503, 'text/plain', ready ? 'ready\n' : 'not ready\n');
      }
      if (path === '/metrics') {
        const registry = await this.#aggregate();
        return send(200, registry.contentType, await registry.metrics());
      }
      if (path === '/status.json') {
        const metrics = (await (await this.#aggregate()).getMetricsAsJSON()) as MetricsJson;
        return send(200, 'application/json', JSON.stringify(summarize(metrics, this.#source, this.#startedAt)));
      }
      if (path === '/status' || path === '/') return send(200, 'text/html; charset=utf-8', STATUS_PAGE);
      send(404, 'text/plain', 'not found: try /metrics, /live, /ready or /status\n');
    } catch (error) {
      this.#log.error({ err: error }, 'the status server failed to answer');
      if (!res.headersSent) send(500, 'text/plain', 'internal error\n');
    }
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new GantryError(
            ErrorCode.BIND,
            `Cannot listen on metrics-bind ${formatBind(this.#bind)}: ${error.code ?? error.message}.`,
            {},
          ),
        ),
      );
      this.#server.listen(listenOptions(this.#bind), () => {
        this.#log.info(`metrics, health and status at ${bindUrl(this.#bind)}/metrics, /live, /ready, /status`);
        resolve();
      });
    });
  }

  close(): void {
    this.#server.closeAllConnections();
    this.#server.close();
  }
}
