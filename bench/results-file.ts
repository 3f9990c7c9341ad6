/** What every benchmark script shares: its progress lines, medians, and writing its results (JSON and Markdown) to bench/results/. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './servers.js';

/** Progress, on standard error (standard output is the report). */
export const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** The median; of an even count, the mean of the middle two. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** bench/results/NAME.json and NAME.md, and the Markdown on standard output. */
export async function writeResults(name: string, result: unknown, markdown: string): Promise<void> {
  await writeFile(join(ROOT, `bench/results/${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(join(ROOT, `bench/results/${name}.md`), markdown);
  process.stdout.write(markdown);
}
