/**
 * `npm run bench:profile`: what a request of each TechEmpower test type costs, and where, on the full
 * stack the database suite measures (nginx -> gantry, 2 workers -> app.mjs: Fastify, Kysely,
 * node-postgres -> PostgreSQL). gantry's processes run with V8's sampling profiler (--cpu-prof); PostgreSQL's
 * backends under Linux perf; nginx's CPU from /proc. Then pgbench runs the single query's SQL in each of
 * PostgreSQL's three protocol modes, the database's own cost of each, and the app runs with and without
 * named prepared statements. Settings: PROFILE_SECONDS (8).
 * Writes bench/results/profile.json and profile.md.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { log, median, writeResults } from '../results-file.js';
import { interleavedRounds } from '../rounds.js';
import { ROOT, bareCluster, cpuSeconds, gantryServe, nginxFront, perRequest, stopAll, stopProcess } from '../servers.js';
import { POOL_PER_PROCESS, PROCESSES, TEST_TYPES, measurePgbench, tfbDatabase } from '../techempower/suite.js';
import { wrk } from '../wrk.js';
import { type Layer, NATIVE, type ProcessProfile, analyseDirectory, merge } from './cpu-profile.js';
import { type PerfProfile, analysePerf, hasPerf, startPerf, stopPerf } from './perf-profile.js';
import { type ProfileResults, type TestProfile, markdown } from './report.js';

const SECONDS = Number(process.env.PROFILE_SECONDS ?? 8);
const PROFILED_TESTS = new Set(['plaintext', 'db', 'queries', 'fortunes', 'updates']);
const ROUNDS = 3;

/** One test type on a freshly started, profiled stack. */
async function profileTest(
  test: (typeof TEST_TYPES)[number],
  database: string,
  postmaster: () => number[],
): Promise<TestProfile> {
  const profiles = await mkdtemp(join(tmpdir(), 'gantry-profile-'));
  const perfData = join(profiles, 'perf.data');
  try {
    const gantry = await gantryServe('gantry (profiled)', join(ROOT, 'bench/techempower/app.mjs'), {
      args: ['--workers', String(PROCESSES)],
      env: {
        DB_CONNECTION_STRING: database,
        DB_POOL_MAX: String(POOL_PER_PROCESS),
        NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profiles}`,
      },
    });
    const front = await nginxFront('nginx -> gantry (profiled)', Number(new URL(gantry.url).port));
    const url = new URL(test.path, front.url).href;
    // Warm-up: the JIT, and the pools' connections (PostgreSQL's backends, which perf follows, exist after it).
    const warmUp = await wrk(url, { seconds: 2 });
    const workerPids = gantry.pids().slice(1);
    const perf = hasPerf() ? startPerf([...workerPids, ...postmaster()], perfData) : undefined;
    const cpu = () => ({ workers: cpuSeconds(workerPids), nginx: cpuSeconds(front.pids()), postgres: cpuSeconds(postmaster()) });
    const before = cpu();
    const measured = await wrk(url, { seconds: SECONDS });
    const after = cpu();
    const cpuMs = (key: keyof typeof before) => perRequest((after[key] - before[key]) * 1000, measured.requests);
    if (perf) await stopPerf(perf);
    const perfGroups = { workers: workerPids, postgres: postmaster() };
    await stopProcess(gantry.process);
    await stopProcess(front.process);

    // The V8 profiles span the workers' lives: boot (a few tens of ms), the warm-up and the measured run.
    const byProcess = await analyseDirectory(profiles);
    const primary = byProcess.get(gantry.process.pid ?? 0);
    const workers = merge([...byProcess].filter(([pid]) => pid !== gantry.process.pid).map(([, profile]) => profile));
    const served = warmUp.requests + measured.requests;
    const perfProfiles: Record<'workers' | 'postgres', PerfProfile> | undefined = perf
      ? await analysePerf(perfData, perfGroups)
      : undefined;
    log(
      `${test.label.padEnd(22)} ${Math.round(measured.requestsPerSecond)} req/s, CPU per request: workers ${cpuMs('workers').toFixed(3)} ms ` +
        `(V8 sampled ${perRequest(workers.busyMs, served).toFixed(3)}), nginx ${cpuMs('nginx').toFixed(3)}, PostgreSQL ${cpuMs('postgres').toFixed(3)}`,
    );
    return {
      key: test.key,
      label: test.label,
      path: test.path,
      requestsPerSecond: measured.requestsPerSecond,
      failures: measured.failures,
      msPerRequest: {
        workers: cpuMs('workers'),
        workersSampled: perRequest(workers.busyMs, served),
        primary: perRequest(primary?.busyMs ?? 0, served),
        nginx: cpuMs('nginx'),
        postgres: cpuMs('postgres'),
      },
      workerLayers: layersPerRequest(workers, served),
      topFunctions: workers.functions
        .filter((fn) => fn.layer !== NATIVE)
        .slice(0, 12)
        .map((fn) => ({ ...fn, msPerRequest: perRequest(fn.ms, served) })),
      ...(perfProfiles ? { perf: perfProfiles } : {}),
    };
  } finally {
    await rm(profiles, { recursive: true, force: true });
  }
}

/**
 * The workers' JavaScript by layer. Native frames are left out: V8 samples a thread preempted inside a
 * syscall there, so they hold time off the CPU (perf's figures say what the kernel's share is).
 */
function layersPerRequest(profile: ProcessProfile, requests: number): Partial<Record<Layer, number>> {
  return Object.fromEntries(
    (Object.entries(profile.byLayer) as [Layer, number][])
      .filter(([layer]) => layer !== NATIVE)
      .sort((a, b) => b[1] - a[1])
      .map(([layer, ms]) => [layer, perRequest(ms, requests)]),
  );
}

/** pgbench with the single query's SQL in each protocol mode, rounds interleaved: PostgreSQL's own cost of each. */
async function pgbenchProtocols(database: string, postmaster: () => number[]): Promise<ProfileResults['protocols']> {
  const modes = ['simple', 'extended', 'prepared'] as const;
  const runs = await interleavedRounds(modes, ROUNDS, async (mode, round) => {
    const result = await measurePgbench('db', database, SECONDS, postmaster, mode);
    const postgresMs = perRequest(result.databaseCpuSeconds * 1000, result.requests);
    log(
      `pgbench -M ${mode.padEnd(8)} round ${round}/${ROUNDS}: ${Math.round(result.requestsPerSecond)} tps, PostgreSQL ${postgresMs.toFixed(4)} ms per query`,
    );
    return { tps: result.requestsPerSecond, postgresMs };
  });
  return modes.map((mode) => ({
    mode,
    transactionsPerSecond: median(runs.get(mode)?.map((r) => r.tps) ?? []),
    postgresMsPerQuery: median(runs.get(mode)?.map((r) => r.postgresMs) ?? []),
  }));
}

/**
 * The example app's queries as named prepared statements (app/src/db/prepared-statements.ts, its default)
 * against node-postgres's unnamed ones: the same app under gantry behind nginx, rounds interleaved.
 */
async function namedStatements(database: string, postmaster: () => number[]): Promise<ProfileResults['namedStatements']> {
  const start = async (named: boolean) => {
    const gantry = await gantryServe(
      `gantry, ${named ? 'named' : 'unnamed'} statements`,
      join(ROOT, 'bench/techempower/app.mjs'),
      {
        args: ['--workers', String(PROCESSES)],
        env: {
          DB_CONNECTION_STRING: database,
          DB_POOL_MAX: String(POOL_PER_PROCESS),
          DB_PREPARED_STATEMENTS: String(named),
        },
      },
    );
    const front = await nginxFront('nginx', Number(new URL(gantry.url).port));
    return { named, front, pids: () => [...front.pids(), ...gantry.pids()] };
  };
  const servers = [await start(false), await start(true)];
  const figures: ProfileResults['namedStatements'][number][] = [];
  for (const test of TEST_TYPES.filter((t) => t.pgbench)) {
    for (const server of servers) await wrk(new URL(test.path, server.front.url).href, { seconds: 2 });
    const runs = await interleavedRounds(servers, ROUNDS, async (server, round) => {
      await server.front.freshConnections();
      const before = { stack: cpuSeconds(server.pids()), postgres: cpuSeconds(postmaster()) };
      const result = await wrk(new URL(test.path, server.front.url).href, { seconds: SECONDS });
      const stackMs = perRequest((cpuSeconds(server.pids()) - before.stack) * 1000, result.requests);
      const postgresMs = perRequest((cpuSeconds(postmaster()) - before.postgres) * 1000, result.requests);
      log(
        `${test.label.padEnd(22)} round ${round}/${ROUNDS} ${server.named ? 'named  ' : 'unnamed'} ${Math.round(result.requestsPerSecond)} req/s, ` +
          `nginx + gantry ${stackMs.toFixed(3)} ms, PostgreSQL ${postgresMs.toFixed(3)} ms per request, ${result.failures} failed`,
      );
      return { rate: result.requestsPerSecond, stackMs, postgresMs };
    });
    const side = (named: boolean) => {
      const server = servers.find((s) => s.named === named);
      const list = (server && runs.get(server)) ?? [];
      return {
        requestsPerSecond: median(list.map((r) => r.rate)),
        stackMsPerRequest: median(list.map((r) => r.stackMs)),
        postgresMsPerRequest: median(list.map((r) => r.postgresMs)),
      };
    };
    figures.push({ key: test.key, label: test.label, unnamed: side(false), named: side(true) });
  }
  for (const server of servers) await stopProcess(server.front.process);
  stopAll();
  return figures;
}

/**
 * The hello-world behind nginx (gantry's template) on gantry and on bare node:cluster: each one's CPU
 * per request (nginx, workers, primary; rounds interleaved), and where gantry's own part of it goes (a
 * V8 profile of gantry's workers on its own run).
 */
async function helloBehindNginx(): Promise<ProfileResults['hello']> {
  const hello = join(ROOT, 'bench/apps/hello-node.mjs');
  const servers = { bare: await bareCluster(), gantry: await gantryServe('gantry', hello) };
  const sides = await Promise.all(
    (['bare', 'gantry'] as const).map(async (key) => ({
      key,
      server: servers[key],
      front: await nginxFront(`nginx -> ${key}`, Number(new URL(servers[key].url).port)),
    })),
  );
  for (const side of sides) await wrk(side.front.url, { seconds: 2 });
  const measured = await interleavedRounds(sides, ROUNDS + 2, async ({ key, server, front }) => {
    await front.freshConnections();
    const workers = server.pids().slice(1);
    const primary = server.pids().slice(0, 1);
    const cpu = () => [cpuSeconds(front.pids()), cpuSeconds(workers), cpuSeconds(primary)] as const;
    const before = cpu();
    const result = await wrk(front.url, { seconds: SECONDS });
    const after = cpu();
    const micros = (i: 0 | 1 | 2) => perRequest(((after[i] ?? 0) - (before[i] ?? 0)) * 1e6, result.requests);
    log(
      `hello, nginx -> ${key.padEnd(6)} ${Math.round(result.requestsPerSecond)} req/s, CPU per request: nginx ${micros(0).toFixed(1)} us, workers ${micros(1).toFixed(1)} us`,
    );
    return { rate: result.requestsPerSecond, nginx: micros(0), workers: micros(1), primary: micros(2) };
  });
  const runs = new Map([...measured].map(([side, list]) => [side.key, list]));
  for (const { front } of sides) await stopProcess(front.process);
  stopAll();

  const profiles = await mkdtemp(join(tmpdir(), 'gantry-profile-'));
  try {
    const gantry = await gantryServe('gantry (profiled)', hello, {
      env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profiles}` },
    });
    const front = await nginxFront('nginx -> gantry (profiled)', Number(new URL(gantry.url).port));
    const { requests } = await wrk(front.url, { seconds: SECONDS });
    await stopProcess(gantry.process);
    await stopProcess(front.process);
    const workers = merge(
      [...(await analyseDirectory(profiles))].filter(([pid]) => pid !== gantry.process.pid).map(([, p]) => p),
    );
    const side = (key: 'bare' | 'gantry') => {
      const list = runs.get(key) ?? [];
      const middle = (pick: (r: (typeof list)[number]) => number) => median(list.map(pick));
      return {
        requestsPerSecond: middle((r) => r.rate),
        nginxMicros: middle((r) => r.nginx),
        workersMicros: middle((r) => r.workers),
        primaryMicros: middle((r) => r.primary),
      };
    };
    const gantryFunctions = workers.functions.filter((fn) => fn.layer === 'gantry');
    return {
      bare: side('bare'),
      gantry: side('gantry'),
      gantrySampledMicros: perRequest(gantryFunctions.reduce((sum, fn) => sum + fn.ms, 0) * 1000, requests),
      gantryFunctions: gantryFunctions
        .slice(0, 8)
        .map((fn) => ({ name: fn.name, where: fn.where, micros: perRequest(fn.ms * 1000, requests) })),
    };
  } finally {
    await rm(profiles, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { postgres, url: database, version, postmaster } = await tfbDatabase();
  try {
    if (!hasPerf()) log("perf is not installed: PostgreSQL's side is measured, not profiled (apt-get install linux-perf)");
    log(`profiling: ${SECONDS} s per test type after a 2 s warm-up, nginx -> gantry (${PROCESSES} workers) -> app.mjs`);
    const tests: TestProfile[] = [];
    for (const test of TEST_TYPES.filter((t) => PROFILED_TESTS.has(t.key)))
      tests.push(await profileTest(test, database, postmaster));
    const results: ProfileResults = {
      date: new Date().toISOString(),
      node: process.version,
      postgres: version,
      seconds: SECONDS,
      tests,
      protocols: await pgbenchProtocols(database, postmaster),
      namedStatements: await namedStatements(database, postmaster),
      hello: await helloBehindNginx(),
    };
    await writeResults('profile', results, markdown(results));
  } finally {
    stopAll();
    await postgres.destroy();
  }
}

main().catch((error: unknown) => {
  log(`profile failed: ${(error as Error).stack ?? String(error)}`);
  stopAll();
  process.exitCode = 1;
});
