/**
 * `npm run bench:jobs`: the queue, `gantry run` against a bare pg-boss worker on node:cluster, side by
 * side in one run: the same job module (bench/apps/queue-worker.mjs: pg-boss as the example's job
 * workers use it, one row written per job), 2 processes each, the same real PostgreSQL, each on a queue
 * of its own, rounds interleaved, medians. Two figures per round:
 *   throughput: a backlog of BENCH_JOBS jobs inserted at once: jobs/s over its second half, and over
 *     the whole drain (the workers' ramp-up included: they burst through a backlog once pg-boss's
 *     queue counts, every 5 s, show it);
 *   latency: BENCH_LATENCY_JOBS jobs sent one at a time, 20 a second, to idle workers: enqueue to
 *     start (the handler called), p50 and p99.
 * Writes bench/results/jobs.json and .md. Settings: BENCH_ROUNDS (5), BENCH_JOBS (3000),
 * BENCH_LATENCY_JOBS (400).
 */
import { join } from 'node:path';
import type { QueryResultRow } from 'pg';
import { PgBoss } from 'pg-boss';
import { freePort } from '../test/support/free-port.js';
import { log, median, writeResults } from './results-file.js';
import { interleavedRounds } from './rounds.js';
import { type JobWorkers, ROOT, bareQueueCluster, exampleDatabase, gantryRun, rssMiB, stopAll } from './servers.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BACKLOG = Number(process.env.BENCH_JOBS ?? 3000);
const LATENCY_JOBS = Number(process.env.BENCH_LATENCY_JOBS ?? 400);
const SEND_INTERVAL_MS = 50;
const MODULE = join(ROOT, 'bench/apps/queue-worker.mjs');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (values: readonly number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))] as number;

type Query = <R extends QueryResultRow>(text: string, params?: unknown[]) => Promise<R[]>;

interface Contender {
  readonly key: 'gantry' | 'bare';
  readonly label: string;
  readonly queue: string;
  readonly start: (env: NodeJS.ProcessEnv) => Promise<JobWorkers>;
}

const CONTENDERS: readonly Contender[] = [
  {
    key: 'gantry',
    label: 'gantry run, 2 job workers',
    queue: 'bench-gantry',
    // As in production: metrics on (every job counted and timed), the watchdog's heartbeat on.
    start: async (env) =>
      gantryRun('gantry run', MODULE, { args: ['--workers', '2', '--metrics-bind', `127.0.0.1:${await freePort()}`], env }),
  },
  {
    key: 'bare',
    label: 'bare node:cluster + pg-boss, 2 workers',
    queue: 'bench-bare',
    start: (env) => Promise.resolve(bareQueueCluster('bare', env)),
  },
];

/** Resolves once `count` jobs of `queue` sent at or after `sinceMs` have run; their rows. */
async function ran(query: Query, queue: string, sinceMs: number, count: number) {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const rows = await query<{ sent_ms: string; started_ms: string; finished_ms: string }>(
      'SELECT sent_ms, started_ms, finished_ms FROM bench_job_runs WHERE queue = $1 AND sent_ms >= $2',
      [queue, sinceMs],
    );
    if (rows.length >= count)
      return rows.map((r) => ({ sent: Number(r.sent_ms), started: Number(r.started_ms), finished: Number(r.finished_ms) }));
    if (Date.now() > deadline) throw new Error(`${queue}: ${rows.length} of ${count} jobs ran within 180 s`);
    await sleep(100);
  }
}

interface Throughput {
  /** The whole backlog over the time to drain it, the workers' ramp-up included. */
  readonly drain: number;
  /** The backlog's second half (its 50th to 95th percentile by finish time): the rate once the workers burst. */
  readonly steady: number;
}

async function throughput(boss: PgBoss, query: Query, queue: string): Promise<Throughput> {
  const sentMs = Date.now();
  await boss.insert(
    queue,
    Array.from({ length: BACKLOG }, () => ({ data: { sentMs } })),
  );
  const finished = (await ran(query, queue, sentMs, BACKLOG)).map((r) => r.finished).sort((a, b) => a - b);
  const [from, to] = [finished[Math.floor(BACKLOG * 0.5)]!, finished[Math.floor(BACKLOG * 0.95)]!];
  return { drain: BACKLOG / ((finished.at(-1)! - sentMs) / 1000), steady: (BACKLOG * 0.45) / ((to - from) / 1000) };
}

async function latency(boss: PgBoss, query: Query, queue: string): Promise<{ p50: number; p99: number }> {
  const since = Date.now();
  for (let i = 0; i < LATENCY_JOBS; i++) {
    await boss.send(queue, { sentMs: Date.now() });
    await sleep(SEND_INTERVAL_MS);
  }
  const waits = (await ran(query, queue, since, LATENCY_JOBS)).map((r) => r.started - r.sent);
  return { p50: percentile(waits, 0.5), p99: percentile(waits, 0.99) };
}

async function main(): Promise<void> {
  const { url: database, postgres } = await exampleDatabase();
  const query: Query = (text, params = []) => postgres.query(text, params, database);
  const boss = new PgBoss({ connectionString: database, max: 2, supervise: false, schedule: false, migrate: false });
  boss.on('error', (error) => log(`bench sender: ${error.message}`));
  try {
    await query(
      `CREATE TABLE bench_job_runs (
         job_id uuid PRIMARY KEY, queue text NOT NULL, sent_ms bigint NOT NULL, started_ms bigint NOT NULL,
         finished_ms bigint NOT NULL DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::bigint)`,
    );
    await query('CREATE INDEX ON bench_job_runs (queue, sent_ms)');
    await boss.start();
    for (const { queue } of CONTENDERS) await boss.createQueue(queue, { retryLimit: 0, notify: true });
    const workers = new Map<Contender['key'], JobWorkers>();
    for (const c of CONTENDERS) workers.set(c.key, await c.start({ BENCH_DATABASE: database, BENCH_QUEUE: c.queue }));
    // Warm-up: both take a first backlog, which also says they are up.
    for (const { queue } of CONTENDERS) {
      const sentMs = Date.now();
      await boss.insert(
        queue,
        Array.from({ length: 200 }, () => ({ data: { sentMs } })),
      );
      await ran(query, queue, sentMs, 200);
    }
    // Two contenders: the turning order alternates who goes first, so that neither always meets the
    // database after the other's backlog.
    const rounds = await interleavedRounds(CONTENDERS, ROUNDS, async (contender, round) => {
      // A fresh start for the burst: pg-boss's queue counts must show an empty queue again.
      await sleep(6000);
      const rate = await throughput(boss, query, contender.queue);
      await sleep(6000);
      const waits = await latency(boss, query, contender.queue);
      log(
        `round ${round}/${ROUNDS}  ${contender.label.padEnd(40)} ${Math.round(rate.steady).toString().padStart(5)} jobs/s (drain ${Math.round(rate.drain)})  enqueue to start p50 ${waits.p50} ms  p99 ${waits.p99} ms`,
      );
      return { ...rate, ...waits };
    });
    const memory = Object.fromEntries(
      CONTENDERS.map((c) => [
        c.key,
        Math.round(
          workers
            .get(c.key)!
            .pids()
            .reduce((sum, pid) => sum + rssMiB(pid), 0),
        ),
      ]),
    );
    const figures = Object.fromEntries(
      CONTENDERS.map((c) => {
        const runs = rounds.get(c) ?? [];
        const middle = (pick: (run: (typeof runs)[number]) => number) => median(runs.map(pick));
        return [
          c.key,
          {
            label: c.label,
            jobsPerSecond: Math.round(middle((run) => run.steady)),
            drainJobsPerSecond: Math.round(middle((run) => run.drain)),
            enqueueToStartP50Ms: middle((run) => run.p50),
            enqueueToStartP99Ms: middle((run) => run.p99),
            rssMiB: memory[c.key],
          },
        ];
      }),
    ) as Record<
      Contender['key'],
      {
        label: string;
        jobsPerSecond: number;
        drainJobsPerSecond: number;
        enqueueToStartP50Ms: number;
        enqueueToStartP99Ms: number;
        rssMiB: number;
      }
    >;
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      rounds: ROUNDS,
      backlog: BACKLOG,
      latencyJobs: LATENCY_JOBS,
      figures,
      ratios: {
        jobsPerSecond: figures.gantry.jobsPerSecond / figures.bare.jobsPerSecond,
        drainJobsPerSecond: figures.gantry.drainJobsPerSecond / figures.bare.drainJobsPerSecond,
        p50: figures.gantry.enqueueToStartP50Ms / Math.max(1, figures.bare.enqueueToStartP50Ms),
        p99: figures.gantry.enqueueToStartP99Ms / Math.max(1, figures.bare.enqueueToStartP99Ms),
      },
    };
    const md = [
      `# The queue: gantry run vs a bare pg-boss worker (${result.date}, Node.js ${result.node})`,
      '',
      `The same job module (one row written per job), 2 processes each, pg-boss 12 on embedded PostgreSQL 18, loopback; median of ${ROUNDS} rounds.`,
      `Throughput: a backlog of ${BACKLOG.toLocaleString('en-US')} jobs inserted at once; jobs/s over its second half (the workers bursting), and over the whole drain (their ramp-up included: up to 5 s until pg-boss's queue counts show the backlog). Latency: ${LATENCY_JOBS} jobs sent 20 a second to idle workers, enqueue to start.`,
      '',
      '| Job workers | jobs/s | jobs/s, whole drain | enqueue to start p50 | p99 | memory (all processes) |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...CONTENDERS.map((c) => {
        const f = figures[c.key];
        return `| ${f.label} | ${f.jobsPerSecond.toLocaleString('en-US')} | ${f.drainJobsPerSecond.toLocaleString('en-US')} | ${f.enqueueToStartP50Ms} ms | ${f.enqueueToStartP99Ms} ms | ${f.rssMiB} MiB |`;
      }),
      '',
      `gantry vs bare: ${result.ratios.jobsPerSecond.toFixed(2)}x the jobs/s (${result.ratios.drainJobsPerSecond.toFixed(2)}x over the whole drain); latency p50 ${result.ratios.p50.toFixed(2)}x, p99 ${result.ratios.p99.toFixed(2)}x.`,
      '',
    ].join('\n');
    await writeResults('jobs', result, md);
  } finally {
    await boss.stop({ graceful: false, close: true }).catch(() => {});
    stopAll();
    await postgres.destroy();
  }
}

await main();
