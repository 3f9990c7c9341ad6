/**
 * Writing a run's results: bench/results/latest.json (the record every published figure comes from),
 * latest.md, chart.svg and README's benchmark block; then the verdict, which fails the run (exit 1) when a
 * target is missed.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type GeneratedBlock, replaceGenerated } from '../scripts/markdown.js';
import { type Results, chart, comparisons, markdown, table } from './report.js';
import { log } from './results-file.js';

export const BENCH_BLOCK: GeneratedBlock = { name: 'bench', command: 'npm run bench' };

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export async function publish(results: Results): Promise<void> {
  const out = join(ROOT, 'bench/results');
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  const tables = markdown(results);
  await writeFile(join(out, 'latest.md'), tables);
  await writeFile(join(out, 'chart.svg'), chart(results));
  const readme = join(ROOT, 'README.md');
  await writeFile(readme, replaceGenerated(await readFile(readme, 'utf8'), tables.trimEnd(), BENCH_BLOCK));
  process.stdout.write(table(results));
  log('written: bench/results/latest.json, latest.md, chart.svg and README.md');
  const missed = comparisons(results).filter((comparison) => comparison.pass === false);
  if (missed.length > 0) {
    log(`${missed.length} target(s) missed:\n${missed.map((c) => `  ${c.name}: ${c.figure} [target ${c.target}]`).join('\n')}`);
    process.exitCode = 1;
  }
}
