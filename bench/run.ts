/**
 * `npm run bench`: every contender side by side in one run, as ratios (the machine is shared and noisy).
 * wrk with 1 thread and 64 keep-alive connections; the contenders are run in turn, round after round, the
 * order turned each round (A B C, B C A, ...: rounds.ts); each figure is the median of its rounds, each
 * ratio the median of the rounds' own ratios. Before each run through nginx,
 * nginx is reloaded so that its pooled connections to the upstream are made anew: which upstream worker
 * holds how many of them is decided when they open (and is often uneven), and kept connections would
 * carry one draw through every round, defeating the medians. Settings: BENCH_ROUNDS (5),
 * BENCH_SECONDS (5). Writes bench/results/ and README's benchmark table; then the database-backed suite
 * (techempower/suite.ts). `--suite=hello` or `--suite=db` runs one of them; `--publish` writes both
 * suites' outputs again from bench/results/.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { publish } from './publish.js';
import type { Results } from './report.js';
import {
  ROOT,
  type Server,
  bareCluster,
  exampleDatabase,
  gantryServe,
  hasSeedStack,
  machine,
  nginxFront,
  rssMiB,
  seedStack,
  stopAll,
} from './servers.js';
import { type SequentialResult, sequential } from './sequential.js';
import { type WrkResult, wrk } from './wrk.js';
import { log, median } from './results-file.js';
import { interleavedRounds } from './rounds.js';
import { publishTechEmpower, runTechEmpower } from './techempower/suite.js';
import type { TechEmpowerResults } from './techempower/report.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const HELLO_NODE = join(ROOT, 'bench/apps/hello-node.mjs');
const HELLO_FETCH = join(ROOT, 'bench/apps/hello-fetch.mjs');
const HONO = join(ROOT, 'bench/apps/hono');

interface Contender {
  readonly key: string;
  readonly label: string;
  readonly url: string;
  readonly post?: boolean;
  /** Called before each run. */
  readonly before?: () => Promise<void>;
}

/** Each contender once per round, ROUNDS rounds (rounds.ts), after a short warm-up of each; every run by contender key. */
async function rounds(contenders: readonly Contender[]): Promise<Map<string, WrkResult[]>> {
  for (const contender of contenders) await wrk(contender.url, { seconds: 2, post: contender.post ?? false });
  const runs = await interleavedRounds(contenders, ROUNDS, async (contender, round) => {
    await contender.before?.();
    const result = await wrk(contender.url, { seconds: SECONDS, post: contender.post ?? false });
    log(
      `round ${round}/${ROUNDS}  ${contender.label.padEnd(44)} ${Math.round(result.requestsPerSecond).toString().padStart(7)} req/s  p99 ${result.p99Ms.toFixed(2)} ms`,
    );
    return result;
  });
  return new Map([...runs].map(([contender, results]) => [contender.key, results]));
}

/** wrk for 9 s with a SIGHUP to gantry's primary at 2 s and at 5.5 s: failures must be 0. */
async function underReloads(server: Server, url: string, post: boolean): Promise<WrkResult> {
  const primary = server.process.pid ?? 0;
  const timers = [2000, 5500].map((ms) => setTimeout(() => process.kill(primary, 'SIGHUP'), ms));
  try {
    return await wrk(url, { seconds: 9, post });
  } finally {
    timers.forEach(clearTimeout);
  }
}

function memory(server: Server): { primary: number; workers: number[] } {
  const [primary = 0, ...rest] = server.pids();
  // Workers are node processes; gantry's primary also runs no helper processes.
  return { primary: rssMiB(primary), workers: rest.map(rssMiB) };
}

let stopDatabase = (): Promise<void> => Promise.resolve();

async function main(): Promise<void> {
  log(
    `gantry benchmarks: ${ROUNDS} rounds x ${SECONDS} s, wrk -t1 -c64, ${availableParallelism()} CPUs, node ${process.version}`,
  );

  const bare = await bareCluster();
  const gantry = await gantryServe('gantry', HELLO_NODE);
  const gantryFetch = await gantryServe('gantry fetch', HELLO_FETCH);
  // One Hono app, three fetch adapters, all under gantry: gantry's own, and two well-kept ones as node listeners.
  const honoGantry = await gantryServe('hono, gantry adapter', join(HONO, 'app.mjs'));
  const honoNodeServer = await gantryServe('hono, @hono/node-server', join(HONO, 'node-server.mjs'));
  const honoSrvx = await gantryServe('hono, srvx', join(HONO, 'srvx.mjs'));
  const nginxBare = await nginxFront('nginx -> bare', Number(new URL(bare.url).port));
  const nginxGantry = await nginxFront('nginx -> gantry', Number(new URL(gantry.url).port));
  // The example app needs its database to start (its page itself does not query it).
  const database = await exampleDatabase();
  stopDatabase = () => database.postgres.destroy();
  const example = await gantryServe('example app', 'app/dist/src/app.js', {
    args: ['--config', 'app/dist/gantry.config.js'],
    env: { APP_ENV: 'Production', DB_CONNECTION_STRING: database.url },
  });
  const edge = await nginxFront('nginx -> example', Number(new URL(example.url).port), { ceiling: true });
  const seed = hasSeedStack() ? await seedStack() : undefined;
  if (!seed)
    log(
      "the seed stack is skipped: install Debian's gunicorn and python3-flask (apt-get install gunicorn python3-flask) to compare with it",
    );

  const contenders: Contender[] = [
    { key: 'bare', label: 'bare node:cluster (direct)', url: bare.url },
    { key: 'gantry', label: 'gantry, node listener (direct)', url: gantry.url },
    { key: 'gantryFetch', label: 'gantry, fetch app (direct)', url: gantryFetch.url },
    { key: 'honoGantry', label: "Hono app, gantry's fetch adapter (direct)", url: honoGantry.url },
    { key: 'honoNodeServer', label: 'Hono app, @hono/node-server (direct)', url: honoNodeServer.url },
    { key: 'honoSrvx', label: "Hono app, srvx's node adapter (direct)", url: honoSrvx.url },
    { key: 'nginxBare', label: 'nginx -> bare node:cluster', url: nginxBare.url, before: nginxBare.freshConnections },
    { key: 'nginxGantry', label: 'nginx -> gantry', url: nginxGantry.url, before: nginxGantry.freshConnections },
    { key: 'example', label: 'nginx -> gantry -> example app (Fastify)', url: edge.url, before: edge.freshConnections },
    ...(seed ? [{ key: 'seed', label: 'seed: nginx -> gunicorn -> Flask', url: seed.url }] : []),
    { key: 'static', label: 'nginx static file', url: `${edge.url}static/secret.txt` },
    { key: 'staticMinimal', label: 'nginx static file, minimal config', url: `${edge.staticCeilingUrl}secret.txt` },
    { key: 'ceiling', label: 'nginx return 200 (ceiling)', url: edge.ceilingUrl },
  ];
  const runs = await rounds(contenders);
  const summary = Object.fromEntries(
    contenders.map((c) => {
      const results = runs.get(c.key) ?? [];
      return [
        c.key,
        {
          label: c.label,
          requestsPerSecond: median(results.map((r) => r.requestsPerSecond)),
          p99Ms: median(results.map((r) => r.p99Ms)),
          p50Ms: median(results.map((r) => r.p50Ms)),
          runs: results.map((r) => Math.round(r.requestsPerSecond)),
          failures: results.reduce((sum, r) => sum + r.failures, 0),
        },
      ];
    }),
  );

  log('reloads under load (SIGHUP twice during 9 s of wrk)');
  const reloads = [];
  for (const [label, server, url, post] of [
    ['gantry direct, GET', gantry, gantry.url, false],
    ['gantry direct, POST', gantry, gantry.url, true],
    ['nginx -> gantry, GET', gantry, nginxGantry.url, false],
    ['nginx -> gantry, POST', gantry, nginxGantry.url, true],
  ] as const) {
    const result = await underReloads(server, url, post);
    reloads.push({
      label,
      requests: result.requests,
      failures: result.failures,
      p99Ms: result.p99Ms,
      requestsPerSecond: result.requestsPerSecond,
    });
    log(`  ${label.padEnd(24)} ${result.requests} requests, ${result.failures} failed, p99 ${result.p99Ms.toFixed(1)} ms`);
  }

  const memoryFigures = { bare: memory(bare), gantry: memory(gantry) };
  stopAll();
  await new Promise((resolve) => setTimeout(resolve, 1000));

  log('crash loop: an app that exits on every 50th request, 500 sequential requests (new connection each), 3 rounds');
  const crashApp = join(ROOT, 'packages/gantry/test/fixtures/apps/crash-every.mjs');
  const crashing = { gantry: await gantryServe('gantry crash', crashApp), bare: await bareCluster(crashApp) };
  const crashRuns: Record<'gantry' | 'bare', SequentialResult[]> = { gantry: [], bare: [] };
  for (let round = 1; round <= 3; round++) {
    for (const key of ['gantry', 'bare'] as const) {
      const result = await sequential(crashing[key].url, 500);
      crashRuns[key].push(result);
      log(`round ${round}/3  ${key.padEnd(8)} ${result.failures} of 500 failed ${JSON.stringify(result.failed)}`);
    }
  }
  const crashLoop = {
    gantry: median(crashRuns.gantry.map((r) => r.failures)),
    bare: median(crashRuns.bare.map((r) => r.failures)),
    runs: crashRuns,
  };
  stopAll();

  log('round-robin vs reusePort (SO_REUSEPORT per worker)');
  const rr = await gantryServe('gantry rr', HELLO_NODE);
  const rp = await gantryServe('gantry reusePort', HELLO_NODE, { args: ['--reuse-port'] });
  const compared = await rounds([
    { key: 'rr', label: 'gantry round-robin', url: rr.url },
    { key: 'reusePort', label: 'gantry reusePort', url: rp.url },
  ]);
  const rrReload = await underReloads(rr, rr.url, false);
  const rpReload = await underReloads(rp, rp.url, false);
  const side = (key: string, reloadFailures: number) => {
    const results = compared.get(key) ?? [];
    return {
      requestsPerSecond: median(results.map((r) => r.requestsPerSecond)),
      p99Ms: median(results.map((r) => r.p99Ms)),
      runs: results.map((r) => Math.round(r.requestsPerSecond)),
      reloadFailures,
    };
  };
  const reusePort = { roundRobin: side('rr', rrReload.failures), reusePort: side('reusePort', rpReload.failures) };
  stopAll();
  await stopDatabase();

  const results: Results = {
    date: new Date().toISOString(),
    machine: await machine(),
    settings: { rounds: ROUNDS, seconds: SECONDS, wrk: 'wrk -t1 -c64 --latency', workers: 2 },
    contenders: summary,
    reloads,
    reusePort,
    crashLoop,
    memory: memoryFigures,
  };
  await publish(results);
}

/** `--publish`: render the outputs again from bench/results/ (after a change to the report). */
async function republish(): Promise<void> {
  const results = (name: string) =>
    readFile(join(ROOT, `bench/results/${name}.json`), 'utf8').then((text) => JSON.parse(text) as unknown);
  await publish((await results('latest')) as Results);
  await publishTechEmpower((await results('techempower')) as TechEmpowerResults);
}

/** Both suites, or one: `--suite=hello` (the hello-world and reload figures) or `--suite=db` (the database-backed one). */
async function runSuites(): Promise<void> {
  const suite = /^--suite=(\w+)$/.exec(process.argv.find((arg) => arg.startsWith('--suite=')) ?? '')?.[1];
  if (suite !== 'db') await main();
  if (suite !== 'hello') await publishTechEmpower(await runTechEmpower());
}

(process.argv.includes('--publish') ? republish() : runSuites())
  .catch((error: unknown) => {
    log(`benchmark failed: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    stopAll();
    await stopDatabase();
  });
