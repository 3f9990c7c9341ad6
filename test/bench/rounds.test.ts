import { describe, expect, it } from 'vitest';
import { rateComparison } from '../../bench/report.js';
import { interleavedRounds, pairedRatio } from '../../bench/rounds.js';

describe('interleaved rounds', () => {
  it('turns the order by one place each round, and keeps each contender its results in round order', async () => {
    const order: string[] = [];
    const runs = await interleavedRounds(['a', 'b', 'c'], 4, (contender, round) => {
      order.push(contender);
      return Promise.resolve(`${contender}${round}`);
    });
    expect(order.join(' ')).toBe('a b c b c a c a b a b c');
    expect(runs.get('a')).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(runs.get('c')).toEqual(['c1', 'c2', 'c3', 'c4']);
  });
});

describe('paired ratio', () => {
  it("is the median of the rounds' own ratios, which a round slowed for everyone leaves alone", () => {
    // Round 2 ran in a burst: both slowed by half. The medians' ratio says 0.95; each round says 1.
    expect(pairedRatio([100, 50, 100], [100, 50, 105.3])).toEqual({ median: 1, lowest: 100 / 105.3, highest: 1 });
  });

  it('is undefined without a round measured for both', () => {
    expect(pairedRatio([], [100])).toBeUndefined();
    expect(pairedRatio([100], [0])).toBeUndefined();
  });

  it('is what a comparison holds to its target, with the ratio of the medians beside it', () => {
    const x = { requestsPerSecond: 95, p99Ms: 1, runs: [100, 95, 90] };
    const y = { requestsPerSecond: 100, p99Ms: 1, runs: [100, 95, 88] };
    const comparison = rateComparison('x vs y', x, y, 0.97);
    expect(comparison.pass).toBe(true);
    expect(comparison.figure).toBe('1.000 (rounds 1.00-1.02); medians 95 / 100 req/s = 0.950');
    expect(rateComparison('y vs x', y, x, 1.01).pass).toBe(false);
  });
});
