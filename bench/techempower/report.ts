/**
 * The database-backed suite's results (bench/techempower/run.ts): the targets each comparison is held to,
 * Markdown tables (one per test type) and an SVG chart with a panel per test type.
 */
import type { GeneratedBlock } from '../../scripts/markdown.js';
import { type Comparison, fmt, ms, rateComparison, verdict } from '../report.js';

/** README's block of the suite's tables. */
export const TECHEMPOWER_BLOCK: GeneratedBlock = { name: 'bench-db', command: 'npm run bench' };

export type TestKey = 'json' | 'plaintext' | 'db' | 'queries' | 'fortunes' | 'updates';
export type ContenderKey = 'gantry' | 'bare' | 'pm2' | 'seed' | 'pgbench';

export interface Figure {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Failed requests over every round (socket errors and answers other than 2xx/3xx; pgbench: failed transactions). */
  readonly failures: number;
  readonly runs: readonly number[];
  /** CPU time per request of the contender's own processes (nginx and the server; pgbench itself), in ms. */
  readonly cpuMsPerRequest: number;
  /** CPU time per request of PostgreSQL (every backend and helper), in ms. */
  readonly databaseCpuMsPerRequest: number;
}

export interface TestResult {
  readonly label: string;
  readonly path: string;
  readonly contenders: Partial<Record<ContenderKey, Figure>>;
}

export interface ProcessMemory {
  readonly pid: number;
  readonly name: string;
  readonly rssMiB: number;
}

export interface TechEmpowerResults {
  readonly date: string;
  readonly machine: { cpus: number; cpu: string; node: string; nginx: string; postgres: string };
  readonly settings: {
    rounds: number;
    seconds: number;
    wrk: string;
    processes: number;
    poolPerProcess: number;
    pgbench: string;
    postgres: string;
  };
  readonly tests: Record<TestKey, TestResult>;
  /** Every process of each contender after the run. */
  readonly memory: Partial<Record<ContenderKey, readonly ProcessMemory[]>>;
}

export const CONTENDER_LABELS: Record<ContenderKey, string> = {
  gantry: 'nginx -> gantry -> Fastify',
  bare: 'nginx -> node:cluster -> Fastify',
  pm2: 'nginx -> PM2 cluster -> Fastify',
  seed: 'seed: nginx -> gunicorn -> Flask + psycopg2',
  pgbench: 'pgbench, the same SQL (ceiling)',
};

export const DATABASE_TESTS: readonly TestKey[] = ['db', 'queries', 'fortunes', 'updates'];

export function comparisons(results: TechEmpowerResults): Comparison[] {
  const list: Comparison[] = [];
  const ratio = (test: TestKey, a: ContenderKey, b: ContenderKey, target: number, name: string, lowerP99 = false) => {
    const { contenders, label } = results.tests[test];
    list.push(rateComparison(`${label}: ${name}`, contenders[a], contenders[b], target, lowerP99));
  };
  for (const test of DATABASE_TESTS) ratio(test, 'gantry', 'bare', 0.97, 'gantry vs bare node:cluster');
  for (const test of Object.keys(results.tests) as TestKey[]) ratio(test, 'gantry', 'pm2', 1, 'gantry vs PM2');
  for (const test of DATABASE_TESTS) ratio(test, 'gantry', 'seed', 5, "gantry's stack vs the seed's", true);
  ratio('db', 'gantry', 'pgbench', 0.5, "gantry's stack vs pgbench's rate for the same SQL");
  return list;
}

function memoryLines(results: TechEmpowerResults): string[] {
  return (Object.entries(results.memory) as [ContenderKey, readonly ProcessMemory[]][]).map(([key, processes]) => {
    const total = processes.reduce((sum, p) => sum + p.rssMiB, 0);
    return `${CONTENDER_LABELS[key]}: ${fmt(total)} MiB in ${processes.length} processes (${processes.map((p) => `${p.name} ${fmt(p.rssMiB)}`).join(', ')})`;
  });
}

export function markdown(results: TechEmpowerResults): string {
  const { machine, settings } = results;
  const lines = [
    `Measured ${results.date.slice(0, 10)} on ${machine.cpus} CPUs (${machine.cpu}), Node.js ${machine.node}, nginx ${machine.nginx}, ` +
      `PostgreSQL ${machine.postgres} (${settings.postgres}); ${settings.wrk}, ${settings.rounds} interleaved rounds of ${settings.seconds} s (the order turned each round), medians; ratios are the median of the rounds' own ratios; ` +
      `${settings.processes} processes per server, a pool of ${settings.poolPerProcess} connections per process; ceiling: ${settings.pgbench}. ` +
      "CPU per request: the contender's processes (nginx and the server) / PostgreSQL's.",
    '',
  ];
  for (const test of Object.values(results.tests)) {
    lines.push(
      `**${test.label}** (\`${test.path}\`)`,
      '',
      '| Contender | req/s | p50 | p99 | failed | CPU per request |',
      '|---|---:|---:|---:|---:|---:|',
    );
    for (const [key, f] of Object.entries(test.contenders) as [ContenderKey, Figure][]) {
      lines.push(
        `| ${CONTENDER_LABELS[key]} | ${fmt(f.requestsPerSecond)} | ${ms(f.p50Ms)} | ${ms(f.p99Ms)} | ${f.failures} | ` +
          `${f.cpuMsPerRequest.toFixed(3)} / ${f.databaseCpuMsPerRequest.toFixed(3)} ms |`,
      );
    }
    lines.push('');
  }
  lines.push('| Comparison | Figure | Target | Result |', '|---|---|---|---|');
  for (const c of comparisons(results)) lines.push(`| ${c.name} | ${c.figure} | ${c.target} | ${verdict(c.pass)} |`);
  lines.push('', ...memoryLines(results).map((line) => `- Memory after the run, ${line}`), '');
  return lines.join('\n');
}

/** The verdicts, for the terminal. */
export function summary(results: TechEmpowerResults): string {
  return [
    '',
    ...comparisons(results).map((c) => `${verdict(c.pass).padEnd(5)} ${c.name}\n      ${c.figure}  [target ${c.target}]`),
    '',
  ].join('\n');
}

const COLOURS: Record<ContenderKey, string> = {
  gantry: '#2f81f7',
  bare: '#8250df',
  pm2: '#bf8700',
  seed: '#cf222e',
  pgbench: '#57606a',
};

/** A panel per test type: requests per second of each contender, on the panel's own scale. */
export function chart(results: TechEmpowerResults): string {
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const keys = Object.keys(CONTENDER_LABELS) as ContenderKey[];
  const [panelWidth, barArea, rowHeight, columns] = [330, 220, 20, 3];
  const panelHeight = 40 + keys.length * rowHeight;
  const tests = Object.values(results.tests);
  const legendTop = 36;
  const top = legendTop + 30;
  const width = panelWidth * columns + 20;
  const height = top + Math.ceil(tests.length / columns) * panelHeight + 24;
  const legend = keys.map(
    (key, i) =>
      `<rect x="${10 + i * 190}" y="${legendTop}" width="12" height="12" fill="${COLOURS[key]}"/><text x="${28 + i * 190}" y="${legendTop + 11}">${escape(CONTENDER_LABELS[key].replace(/ \(ceiling\)$/, ''))}</text>`,
  );
  const panels = tests.map((test, index) => {
    const x = 10 + (index % columns) * panelWidth;
    const y = top + Math.floor(index / columns) * panelHeight;
    const figures = keys.flatMap((key) => (test.contenders[key] ? [[key, test.contenders[key]] as const] : []));
    const max = Math.max(...figures.map(([, f]) => f.requestsPerSecond));
    const bars = figures.map(([key, f], row) => {
      const barWidth = (f.requestsPerSecond / max) * barArea;
      const barY = y + 26 + row * rowHeight;
      return `<rect x="${x}" y="${barY}" width="${barWidth.toFixed(1)}" height="14" rx="2" fill="${COLOURS[key]}"/><text x="${x + barWidth + 6}" y="${barY + 11}">${fmt(f.requestsPerSecond)}</text>`;
    });
    return `<text x="${x}" y="${y + 14}" font-weight="600">${escape(test.label)} (req/s)</text>\n${bars.join('\n')}`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12" fill="#24292f">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="10" y="22" font-size="14" font-weight="600">TechEmpower test types on PostgreSQL, 2 processes each (median req/s)</text>
${legend.join('\n')}
${panels.join('\n')}
<text x="10" y="${height - 8}" fill="#57606a">${escape(`${results.settings.wrk}, ${results.settings.rounds} rounds x ${results.settings.seconds} s, ${results.machine.cpus} CPUs, Node.js ${results.machine.node}, ${results.date.slice(0, 10)}`)}</text>
</svg>
`;
}
