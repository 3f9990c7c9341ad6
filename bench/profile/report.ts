/** The profile run's results (bench/results/profile.json) and their Markdown (profile.md). */
import type { FunctionTime, Layer } from './cpu-profile.js';
import type { PerfProfile } from './perf-profile.js';

export interface TestProfile {
  readonly key: string;
  readonly label: string;
  readonly path: string;
  readonly requestsPerSecond: number;
  readonly failures: number;
  /**
   * Per request, ms: the CPU of gantry's workers, nginx and PostgreSQL during the run (from /proc); the
   * workers' and the primary's busy time as V8 sampled it (on or off the CPU: a worker preempted inside a
   * syscall is sampled in it).
   */
  readonly msPerRequest: { workers: number; workersSampled: number; primary: number; nginx: number; postgres: number };
  readonly workerLayers: Partial<Record<Layer, number>>;
  readonly topFunctions: readonly (FunctionTime & { msPerRequest: number })[];
  /** Linux perf's samples (on the CPU only) of the workers and of PostgreSQL, by activity. */
  readonly perf?: Readonly<Record<'workers' | 'postgres', PerfProfile>>;
}

export interface ProfileResults {
  readonly date: string;
  readonly node: string;
  readonly postgres: string;
  readonly seconds: number;
  readonly tests: readonly TestProfile[];
  readonly protocols: readonly { mode: string; transactionsPerSecond: number; postgresMsPerQuery: number }[];
  /** The same app with its queries as named prepared statements, against unnamed ones (medians of interleaved rounds). */
  readonly namedStatements: readonly { key: string; label: string; unnamed: StatementsFigure; named: StatementsFigure }[];
  /** The hello-world behind nginx: gantry against bare node:cluster, and gantry's own functions (V8, sampled). */
  readonly hello: {
    readonly bare: HelloSide;
    readonly gantry: HelloSide;
    readonly gantrySampledMicros: number;
    readonly gantryFunctions: readonly { name: string; where: string; micros: number }[];
  };
}

export interface HelloSide {
  readonly requestsPerSecond: number;
  /** CPU per request, microseconds (medians of the rounds). */
  readonly nginxMicros: number;
  readonly workersMicros: number;
  readonly primaryMicros: number;
}

export interface StatementsFigure {
  readonly requestsPerSecond: number;
  /** CPU per request of nginx and gantry's processes, and of PostgreSQL, ms. */
  readonly stackMsPerRequest: number;
  readonly postgresMsPerRequest: number;
}

const ms = (value: number) => value.toFixed(3);
const percent = (share: number) => `${(share * 100).toFixed(0)} %`;

const shares = (record: Readonly<Record<string, number>>) =>
  Object.entries(record)
    .map(([name, share]) => `${name} ${percent(share)}`)
    .join(', ');

function layerRows(layers: Partial<Record<string, number>>): string[] {
  const total = Object.values(layers).reduce((sum: number, value) => sum + (value ?? 0), 0);
  return Object.entries(layers).map(([layer, value = 0]) => `| ${layer} | ${ms(value)} | ${percent(value / total)} |`);
}

function testSection(test: TestProfile): string {
  const { workers, workersSampled, primary, nginx, postgres } = test.msPerRequest;
  const lines = [
    `## ${test.label} (\`${test.path}\`): ${Math.round(test.requestsPerSecond).toLocaleString('en-US')} req/s while profiled, ${test.failures} failed`,
    '',
    `CPU per request: ${ms(workers + nginx + postgres)} ms = gantry's workers ${ms(workers)} + nginx ${ms(nginx)} + PostgreSQL ${ms(postgres)} ` +
      `(gantry's primary: ${ms(primary)} sampled).`,
  ];
  if (test.perf) {
    lines.push(
      '',
      `perf, on the CPU: gantry's workers (${test.perf.workers.samples} samples): ${shares(test.perf.workers.byActivity)}.`,
      '',
      `PostgreSQL (${test.perf.postgres.samples} samples): ${shares(test.perf.postgres.byActivity)}.`,
    );
  }
  lines.push(
    '',
    `V8's samples of the workers: ${ms(workersSampled)} ms per request busy, on the CPU or preempted inside a syscall; ` +
      "of it, the JavaScript by layer (native frames left out, perf has the kernel's share):",
    '',
    "| gantry's workers' JavaScript, by layer (V8) | ms per request (sampled) | share |",
    '|---|---:|---:|',
    ...layerRows(test.workerLayers),
    '',
    '| JavaScript function (self time, V8) | where | layer | ms per request (sampled) |',
    '|---|---|---|---:|',
    ...test.topFunctions.map((fn) => `| \`${fn.name}\` | ${fn.where || '(native)'} | ${fn.layer} | ${ms(fn.msPerRequest)} |`),
  );
  return lines.join('\n');
}

export function markdown(results: ProfileResults): string {
  return [
    "# Where a request's CPU goes (`npm run bench:profile`)",
    '',
    `${results.date.slice(0, 10)}, Node ${results.node}, PostgreSQL ${results.postgres}; ${results.seconds} s of wrk -t1 -c64 per test type ` +
      "through nginx -> gantry (2 workers) -> bench/techempower/app.mjs. gantry's processes are sampled by V8's profiler " +
      '(their whole lives: boot, a 2 s warm-up and the run), PostgreSQL by perf; the profilers themselves cost some CPU, ' +
      'so the figures are shares more than rates. A JavaScript sample is charged to the innermost package on its stack: ' +
      "Node.js's own JavaScript (sockets, streams, promises) to the package that asked for it, and to Node.js only when " +
      'no package is on the stack (the HTTP server reading a request, timers). Native frames (syscalls, builtins) are left ' +
      "out of the layers: V8 samples a thread preempted inside a syscall there, so they hold time off the CPU; perf's " +
      "figures, on the CPU only, give the kernel's share.",
    '',
    ...results.tests.map(testSection).flatMap((section) => [section, '']),
    "## PostgreSQL's cost of the single query by protocol (pgbench, the same SQL and connections)",
    '',
    '| pgbench -M | transactions/s | PostgreSQL CPU ms per query |',
    '|---|---:|---:|',
    ...results.protocols.map(
      (p) =>
        `| ${p.mode} | ${Math.round(p.transactionsPerSecond).toLocaleString('en-US')} | ${p.postgresMsPerQuery.toFixed(4)} |`,
    ),
    '',
    "## The same app with and without named prepared statements (app/src/db/prepared-statements.ts, the example app's default)",
    '',
    '| test | req/s unnamed | req/s named | ratio | nginx + gantry CPU ms/request, unnamed / named | PostgreSQL CPU ms/request, unnamed / named |',
    '|---|---:|---:|---:|---:|---:|',
    ...results.namedStatements.map(
      ({ label, unnamed, named }) =>
        `| ${label} | ${Math.round(unnamed.requestsPerSecond).toLocaleString('en-US')} | ${Math.round(named.requestsPerSecond).toLocaleString('en-US')} | ` +
        `${(named.requestsPerSecond / unnamed.requestsPerSecond).toFixed(2)} | ${ms(unnamed.stackMsPerRequest)} / ${ms(named.stackMsPerRequest)} | ` +
        `${ms(unnamed.postgresMsPerRequest)} / ${ms(named.postgresMsPerRequest)} |`,
    ),
    '',
    ...helloSection(results.hello),
  ].join('\n');
}

function helloSection(hello: ProfileResults['hello']): string[] {
  const micros = (value: number) => value.toFixed(1);
  const row = (name: string, side: HelloSide) =>
    `| ${name} | ${Math.round(side.requestsPerSecond).toLocaleString('en-US')} | ${micros(side.nginxMicros)} | ${micros(side.workersMicros)} | ${micros(side.primaryMicros)} |`;
  return [
    "## The hello-world behind nginx: gantry's own cost per request",
    '',
    '| nginx -> | req/s (median) | nginx CPU us/request | workers CPU us/request | primary CPU us/request |',
    '|---|---:|---:|---:|---:|',
    row('bare node:cluster', hello.bare),
    row('gantry', hello.gantry),
    '',
    `gantry's own functions in its workers, sampled by V8: ${micros(hello.gantrySampledMicros)} us per request; the largest:`,
    '',
    '| function | where | us per request (sampled) |',
    '|---|---|---:|',
    ...hello.gantryFunctions.map((fn) => `| \`${fn.name}\` | ${fn.where} | ${fn.micros.toFixed(2)} |`),
    '',
  ];
}
