/**
 * The primary's metrics (prom-client): its own (workers by state, restarts by reason, reloads,
 * readiness, its process), every worker's, collected over IPC, and the totals of workers that are gone,
 * so that a sum across workers never goes down (a worker replaced by max-requests would otherwise look
 * to Prometheus like a counter reset). Loaded only with --metrics-bind.
 *
 * Why not prom-client's AggregatorRegistry.clusterMetrics(): it asks every cluster worker, booting and
 * draining ones included, fails the whole scrape when one of them does not answer in time, and knows
 * nothing of workers that are gone, whose counters would drop out of the sums.
 */
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { WorkerKind } from '../messages.js';
import { type MetricsJson, collectProcessMetrics } from '../process-metrics.js';

export interface WorkerStatus {
  readonly slot: number;
  readonly pid: number;
  readonly state: 'booting' | 'ready' | 'draining';
  readonly startedAt: number;
}

/** What the arbiter tells the metrics and the status server. */
export interface StatusSource {
  readonly app: string;
  /** What its workers do: serve requests, or run jobs (gantry run). */
  readonly kind: WorkerKind;
  ready(): boolean;
  workers(): readonly WorkerStatus[];
  /** Asks each serving worker for its metrics (answered with request `id`); returns how many were asked. */
  askWorkers(id: number): number;
}

/** How long a scrape waits for the workers' answers; those that do not answer in time are left out. */
const WORKER_ANSWER_MS = 1000;

const RESTART_REASONS = ['crashed', 'killed', 'hung', 'max_requests', 'memory', 'reload'] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];

/** The metrics only the primary knows: workers by state, restarts by reason, reloads, readiness. */
export class PrimaryMetrics {
  readonly registry = new Registry();
  readonly restarts: Counter<'reason'>;
  readonly reloads: Counter<'result'>;
  readonly #source: StatusSource;
  /** Scrapes waiting for workers' answers, by request id. */
  readonly #waiting = new Map<number, (worker: number, metrics: MetricsJson) => void>();
  #requests = 0;
  /** The counters and histograms of workers that are gone, summed. */
  #retired: MetricsJson = [];
  /** Workers whose final metrics are in #retired (their live answers must not be counted again). */
  readonly #retiredWorkers = new Set<number>();
  #retiring: Promise<void> = Promise.resolve();
  readonly #startedAt = Date.now();

  constructor(source: StatusSource) {
    this.#source = source;
    const registers = [this.registry];
    collectProcessMetrics(this.registry, 'primary');
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

  /** A worker's answer to a scrape. */
  answer(id: number, worker: number, metrics: MetricsJson): void {
    this.#waiting.get(id)?.(worker, metrics);
  }

  /** A drained worker's last counters: summed into the totals of the workers that are gone, one at a time. */
  retire(worker: number, metrics: MetricsJson): void {
    this.#retiredWorkers.add(worker);
    const cumulative = metrics.filter((metric) => ['counter', 'histogram'].includes(String(metric.type)));
    this.#retiring = this.#retiring.then(async () => {
      this.#retired = await AggregatorRegistry.aggregate([this.#retired, cumulative]).getMetricsAsJSON();
    });
  }

  /** Every process's metrics together: the workers' (summed where they add up), the gone ones', the primary's. */
  async aggregate(): Promise<Registry> {
    const workers = await this.#collect();
    return AggregatorRegistry.aggregate([...workers, (await this.registry.getMetricsAsJSON()) as MetricsJson]);
  }

  /** The numbers the status page shows. */
  async summary(): Promise<ReturnType<typeof summarize>> {
    const metrics = (await (await this.aggregate()).getMetricsAsJSON()) as MetricsJson;
    return summarize(metrics, this.#source, this.#startedAt);
  }

  #collect(): Promise<MetricsJson[]> {
    const id = ++this.#requests;
    const answers = new Map<number, MetricsJson>();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.#waiting.delete(id);
        const live = [...answers].filter(([worker]) => !this.#retiredWorkers.has(worker)).map(([, metrics]) => metrics);
        void this.#retiring.then(() => resolve([...live, this.#retired]));
      };
      const timer = setTimeout(finish, WORKER_ANSWER_MS);
      let asked = Infinity;
      this.#waiting.set(id, (worker, metrics) => {
        answers.set(worker, metrics);
        if (answers.size === asked) finish();
      });
      asked = this.#source.askWorkers(id);
      if (asked === 0) finish();
    });
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

/** A histogram's buckets summed over its labels, by upper bound. */
function buckets(metrics: MetricsJson, histogram: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const sample of samples(metrics, histogram, `${histogram}_bucket`)) {
    const le = String(sample.labels.le);
    counts[le] = (counts[le] ?? 0) + sample.value;
  }
  return counts;
}

/** The numbers the status page shows; counters are cumulative (the page computes rates between polls). */
function summarize(metrics: MetricsJson, source: StatusSource, startedAt: number) {
  const perWorker = (name: string, worker: string) => sum(metrics, name, (labels) => labels.worker === worker);
  return {
    app: source.app,
    kind: source.kind,
    pid: process.pid,
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    ready: source.ready(),
    requests: {
      total: sum(metrics, 'gantry_http_requests_total'),
      byStatusClass: byLabel(metrics, 'gantry_http_requests_total', 'status_class'),
      inFlight: sum(metrics, 'gantry_http_requests_in_flight'),
      durationBuckets: buckets(metrics, 'gantry_http_request_duration_seconds'),
    },
    jobs: {
      total: sum(metrics, 'gantry_jobs_total'),
      byOutcome: byLabel(metrics, 'gantry_jobs_total', 'outcome'),
      running: sum(metrics, 'gantry_jobs_running'),
      durationBuckets: buckets(metrics, 'gantry_job_duration_seconds'),
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
