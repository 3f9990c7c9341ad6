/**
 * Interleaved rounds, the one way every benchmark here measures contenders side by side: each is
 * measured once per round, round after round, so that the machine's slow drift (a neighbour's burst,
 * the page cache, autovacuum) falls on all of them alike.
 */
import { median } from './results-file.js';

/**
 * Measures every contender once per round, `rounds` times. The order turns by one place each round, so
 * that each contender follows each other in turn: in a fixed order one contender would meet the same
 * predecessor's aftermath every round (the database after pgbench's burst of updates, a backlog, TIME_WAIT
 * sockets), a bias as large as the few per cent the rounds are there to resolve. Each contender's results
 * are in round order: the i-th results of two contenders came from the same round (pairedRatio).
 */
export async function interleavedRounds<C, R>(
  contenders: readonly C[],
  rounds: number,
  measure: (contender: C, round: number) => Promise<R>,
): Promise<Map<C, R[]>> {
  const results = new Map<C, R[]>(contenders.map((contender) => [contender, []]));
  for (let round = 1; round <= rounds; round++) {
    const shift = (round - 1) % Math.max(contenders.length, 1);
    for (const contender of [...contenders.slice(shift), ...contenders.slice(0, shift)]) {
      results.get(contender)?.push(await measure(contender, round));
    }
  }
  return results;
}

export interface PairedRatio {
  /** The median of the rounds' ratios. */
  readonly median: number;
  readonly lowest: number;
  readonly highest: number;
}

/**
 * x's rate over y's, round by round (both measured in the same round, seconds apart), and the median of
 * those ratios: it resolves a few per cent where the ratio of two medians cannot, as a burst that slows
 * every contender of a round cancels out of that round's ratio. Undefined without a round of both.
 */
export function pairedRatio(x: readonly number[], y: readonly number[]): PairedRatio | undefined {
  const ratios = x.slice(0, y.length).flatMap((value, i) => ((y[i] ?? 0) > 0 ? [value / (y[i] as number)] : []));
  if (ratios.length === 0) return undefined;
  return { median: median(ratios), lowest: Math.min(...ratios), highest: Math.max(...ratios) };
}
