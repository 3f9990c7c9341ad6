/**
 * The database-backed suite of `npm run bench` (alone: `npm run bench:db`): the TechEmpower Framework
 * Benchmarks' test types (JSON, plaintext, single query, 20 queries, fortunes, 20 updates) on one real
 * PostgreSQL, against the same app (app.mjs) under gantry, bare node:cluster and PM2's cluster mode, each
 * behind nginx with gantry's template, and the seed's stack (its nginx config, gunicorn 2 x 4 threads,
 * Flask with psycopg2: app.py) doing the same queries; for the database tests also pgbench running the
 * same SQL over as many connections as a server's pools hold, the database's own rate. Every contender's
 * answers are checked against the test types' rules before it is measured. Rounds interleaved (the order
 * turned each round, ../rounds.ts), medians, ratios paired by round;
 * CPU time per request of each contender's processes and of PostgreSQL. Settings: BENCH_ROUNDS (5),
 * BENCH_SECONDS (4). Writes bench/results/techempower.json, .md, .svg and README's block.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { replaceGenerated } from '../../scripts/markdown.js';
import { type TestPostgres, startTestPostgres } from '../../test/support/postgres.js';
import { log, median } from '../results-file.js';
import { interleavedRounds } from '../rounds.js';
import {
  ROOT,
  type Server,
  cpuOfStat,
  cpuSeconds,
  gantryServe,
  hasSeedStack,
  machine,
  nginxFront,
  nodeCluster,
  perRequest,
  pm2Cluster,
  processMemory,
  processTree,
  seedStack,
  statFields,
  stopAll,
} from '../servers.js';
import { wrk } from '../wrk.js';
import {
  CONTENDER_LABELS,
  TECHEMPOWER_BLOCK,
  type ContenderKey,
  type Figure,
  type TechEmpowerResults,
  type TestKey,
  chart,
  comparisons,
  markdown,
  summary,
} from './report.js';
import { PGBENCH_SCRIPTS, type PgbenchScript } from './pgbench-scripts.js';
import { verifyAnswers } from './verify.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
export const POOL_PER_PROCESS = 10;
export const PROCESSES = 2;
const run = promisify(execFile);

export interface TestType {
  readonly key: TestKey;
  readonly label: string;
  readonly path: string;
  /** The same SQL for pgbench (pgbench-scripts.ts), for the database tests. */
  readonly pgbench?: PgbenchScript;
}

export const TEST_TYPES: readonly TestType[] = [
  { key: 'json', label: 'JSON', path: '/json' },
  { key: 'plaintext', label: 'Plaintext', path: '/plaintext' },
  { key: 'db', label: 'Single query', path: '/db', pgbench: 'db' },
  { key: 'queries', label: 'Multiple queries (20)', path: '/queries?queries=20', pgbench: 'queries' },
  { key: 'fortunes', label: 'Fortunes', path: '/fortunes', pgbench: 'fortunes' },
  { key: 'updates', label: 'Updates (20)', path: '/updates?queries=20', pgbench: 'updates' },
];

/** One measurement: what it did and the CPU it cost. */
export interface Run {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  readonly failures: number;
  readonly cpuSeconds: number;
  readonly databaseCpuSeconds: number;
}

/** What a round measures: a server behind its nginx, or pgbench running the same SQL. */
type Measured = HttpContender | { readonly key: 'pgbench'; readonly script: PgbenchScript };

interface HttpContender {
  readonly key: Exclude<ContenderKey, 'pgbench'>;
  readonly server: Server;
  /** Before each run (nginx's pooled upstream connections made anew; see bench/run.ts). */
  readonly before?: () => Promise<void>;
}

/** The same PostgreSQL settings for every contender: room for every pool at once, and TechEmpower's commit setting. */
const POSTGRES_SETTINGS = { max_connections: '200', synchronous_commit: 'off' };

export async function tfbDatabase(): Promise<{
  postgres: TestPostgres;
  url: string;
  version: string;
  postmaster: () => number[];
}> {
  const postgres = await startTestPostgres(POSTGRES_SETTINGS);
  try {
    const url = await postgres.freshDatabase();
    await postgres.query(await readFile(join(HERE, 'schema.sql'), 'utf8'), [], url);
    const [{ server_version: version = '' } = {}] = await postgres.query<{ server_version: string }>('SHOW server_version');
    // The postmaster's tree is the whole server.
    return { postgres, url, version, postmaster: () => processTree(postgres.pid()) };
  } catch (error) {
    await postgres.destroy();
    throw error;
  }
}

/** wrk against one contender, with the CPU its processes and the database spent meanwhile. */
async function measureHttp(contender: HttpContender, url: string, seconds: number, database: () => number[]): Promise<Run> {
  await contender.before?.();
  const [own, db] = [cpuSeconds(contender.server.pids()), cpuSeconds(database())];
  const result = await wrk(url, { seconds });
  return {
    ...result,
    cpuSeconds: cpuSeconds(contender.server.pids()) - own,
    databaseCpuSeconds: cpuSeconds(database()) - db,
  };
}

/** Latency percentiles from pgbench's per-transaction logs (the third column: microseconds; "failed" for a failed one). */
async function pgbenchLatencies(dir: string): Promise<number[]> {
  const latencies: number[] = [];
  for (const file of (await readdir(dir)).filter((name) => name.startsWith('log'))) {
    for (const line of (await readFile(join(dir, file), 'utf8')).split('\n')) {
      const micros = Number(line.split(' ')[2]);
      if (Number.isFinite(micros) && line !== '') latencies.push(micros / 1000);
    }
  }
  return latencies.sort((a, b) => a - b);
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

/**
 * pgbench with `script` over as many connections as the servers' pools hold together, by default with
 * named prepared statements (as the example app sends its queries); a deadlock between two batches
 * of updates is retried, as an app would. Its own CPU is read from the shell that waited for it.
 */
export async function measurePgbench(
  script: PgbenchScript,
  url: string,
  seconds: number,
  database: () => number[],
  protocol: 'simple' | 'extended' | 'prepared' = 'prepared',
): Promise<Run> {
  const logs = await mkdtemp(join(tmpdir(), 'gantry-bench-pgbench-'));
  const scriptFile = join(logs, `${script}.sql`);
  await writeFile(scriptFile, `${PGBENCH_SCRIPTS[script].join('\n')}\n`);
  const connections = PROCESSES * POOL_PER_PROCESS;
  const args = ['-n', '-M', protocol, '-c', String(connections), '-j', String(PROCESSES), '-T', String(seconds)];
  args.push('--max-tries', '10', '-f', scriptFile, '-l', '--log-prefix', join(logs, 'log'), url);
  try {
    const db = cpuSeconds(database());
    // The shell's children's CPU (its /proc stat after pgbench was reaped) is pgbench's.
    const { stdout } = await run('sh', ['-c', 'pgbench "$@" && cat /proc/$$/stat', 'sh', ...args], {
      timeout: (seconds + 60) * 1000,
    });
    const databaseCpuSeconds = cpuSeconds(database()) - db;
    const number = (pattern: RegExp) => Number(pattern.exec(stdout)?.[1] ?? 0);
    const latencies = await pgbenchLatencies(logs);
    return {
      requestsPerSecond: number(/tps = ([\d.]+)/),
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      requests: number(/number of transactions actually processed: (\d+)/),
      failures: number(/number of failed transactions: (\d+)/),
      cpuSeconds: cpuOfStat(statFields(stdout.trimEnd().split('\n').at(-1) ?? '')).reapedChildren,
      databaseCpuSeconds,
    };
  } finally {
    await rm(logs, { recursive: true, force: true });
  }
}

function figure(runs: readonly Run[]): Figure {
  const requests = runs.reduce((sum, r) => sum + r.requests, 0);
  const msPerRequest = (seconds: number) => perRequest(seconds * 1000, requests);
  return {
    requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    failures: runs.reduce((sum, r) => sum + r.failures, 0),
    runs: runs.map((r) => Math.round(r.requestsPerSecond)),
    cpuMsPerRequest: msPerRequest(runs.reduce((sum, r) => sum + r.cpuSeconds, 0)),
    databaseCpuMsPerRequest: msPerRequest(runs.reduce((sum, r) => sum + r.databaseCpuSeconds, 0)),
  };
}

async function startContenders(database: string): Promise<HttpContender[]> {
  const env = { DB_CONNECTION_STRING: database, DB_POOL_MAX: String(POOL_PER_PROCESS) };
  const cluster = join(HERE, 'cluster.mjs');
  const gantry = await gantryServe('gantry', join(HERE, 'app.mjs'), { args: ['--workers', String(PROCESSES)], env });
  const bare = await nodeCluster('bare node:cluster', cluster, env);
  const pm2 = await pm2Cluster(cluster, env);
  const contenders: HttpContender[] = [];
  for (const [key, upstream] of [
    ['gantry', gantry],
    ['bare', bare],
    ['pm2', pm2],
  ] as const) {
    const front = await nginxFront(`nginx -> ${key}`, Number(new URL(upstream.url).port));
    const both = () => [...front.pids(), ...upstream.pids()];
    contenders.push({ key, server: { ...front, pids: both }, before: front.freshConnections });
  }
  if (hasSeedStack(['flask', 'psycopg2'])) {
    contenders.push({ key: 'seed', server: await seedStack({ cwd: HERE, module: 'app:app', env }) });
  } else {
    log("the seed stack is skipped: it needs Debian's gunicorn, python3-flask and python3-psycopg2");
  }
  return contenders;
}

export async function runTechEmpower(): Promise<TechEmpowerResults> {
  const { postgres, url: database, version, postmaster } = await tfbDatabase();
  try {
    const contenders = await startContenders(database);
    const fortunes = (await postgres.query<{ message: string }>('SELECT message FROM fortune', [], database)).map(
      (row) => row.message,
    );
    const readWorlds = async (ids: readonly number[]) =>
      new Map(
        (
          await postgres.query<{ id: number; n: number }>(
            'SELECT id, randomnumber AS n FROM world WHERE id = ANY($1)',
            [ids],
            database,
          )
        ).map((row) => [row.id, row.n] as const),
      );
    for (const contender of contenders) {
      await verifyAnswers(CONTENDER_LABELS[contender.key], contender.server.url, { fortunes, readWorlds });
    }
    log(`TechEmpower test types: ${ROUNDS} rounds x ${SECONDS} s, ${contenders.map((c) => c.key).join(', ')} and pgbench`);
    const tests = {} as Record<TestKey, TechEmpowerResults['tests'][TestKey]>;
    for (const test of TEST_TYPES) {
      const url = (contender: HttpContender) => new URL(test.path, contender.server.url).href;
      const measured: Measured[] = [...contenders, ...(test.pgbench ? [{ key: 'pgbench', script: test.pgbench } as const] : [])];
      for (const contender of contenders) await wrk(url(contender), { seconds: 2 });
      const runs = await interleavedRounds(measured, ROUNDS, async (contender, round) => {
        const result =
          'script' in contender
            ? await measurePgbench(contender.script, database, SECONDS, postmaster)
            : await measureHttp(contender, url(contender), SECONDS, postmaster);
        log(
          `${test.label.padEnd(22)} round ${round}/${ROUNDS}  ${CONTENDER_LABELS[contender.key].padEnd(44)} ${Math.round(result.requestsPerSecond).toString().padStart(7)} req/s  ` +
            `p99 ${result.p99Ms.toFixed(2).padStart(7)} ms  failed ${result.failures}`,
        );
        return result;
      });
      tests[test.key] = {
        label: test.label,
        path: test.path,
        contenders: Object.fromEntries([...runs].map(([contender, list]) => [contender.key, figure(list)])),
      };
    }
    const memory = Object.fromEntries(contenders.map((c) => [c.key, processMemory(c.server.pids())]));
    return {
      date: new Date().toISOString(),
      machine: { ...(await machine()), postgres: version },
      settings: {
        rounds: ROUNDS,
        seconds: SECONDS,
        wrk: 'wrk -t1 -c64 --latency',
        processes: PROCESSES,
        poolPerProcess: POOL_PER_PROCESS,
        pgbench: `pgbench -M prepared -c ${PROCESSES * POOL_PER_PROCESS} -j ${PROCESSES}`,
        postgres: Object.entries(POSTGRES_SETTINGS)
          .map(([name, value]) => `${name}=${value}`)
          .join(', '),
      },
      tests,
      memory,
    };
  } finally {
    stopAll();
    await postgres.destroy();
  }
}

/** bench/results/techempower.json, .md, .svg and README's block; exit 1 when a target is missed. */
export async function publishTechEmpower(results: TechEmpowerResults): Promise<void> {
  const out = join(ROOT, 'bench/results');
  await writeFile(join(out, 'techempower.json'), `${JSON.stringify(results, null, 2)}\n`);
  const tables = markdown(results);
  await writeFile(join(out, 'techempower.md'), tables);
  await writeFile(join(out, 'techempower.svg'), chart(results));
  const readme = join(ROOT, 'README.md');
  await writeFile(readme, replaceGenerated(await readFile(readme, 'utf8'), tables.trimEnd(), TECHEMPOWER_BLOCK));
  process.stdout.write(summary(results));
  log('written: bench/results/techempower.json, techempower.md, techempower.svg and README.md');
  const missed = comparisons(results).filter((c) => c.pass === false);
  if (missed.length > 0) {
    log(
      `${missed.length} database target(s) missed:\n${missed.map((c) => `  ${c.name}: ${c.figure} [target ${c.target}]`).join('\n')}`,
    );
    process.exitCode = 1;
  }
}
