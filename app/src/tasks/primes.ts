/**
 * Counts the primes below a limit: a burst of CPU work, run on gantry's thread pool (gantry/threads) so
 * the worker's event loop keeps answering other requests meanwhile. A segmented sieve keeps memory small.
 */
export interface PrimesInput {
  readonly below: number;
}

export interface PrimesResult {
  readonly below: number;
  readonly count: number;
}

const SEGMENT = 1 << 20;

export default function countPrimes({ below }: PrimesInput): PrimesResult {
  if (below <= 2) return { below, count: 0 };
  const root = Math.floor(Math.sqrt(below));
  const small = new Uint8Array(root + 1);
  const bases: number[] = [];
  for (let i = 2; i <= root; i++) {
    if (small[i]) continue;
    bases.push(i);
    for (let j = i * i; j <= root; j += i) small[j] = 1;
  }
  let count = 0;
  const segment = new Uint8Array(SEGMENT);
  for (let low = 2; low < below; low += SEGMENT) {
    const high = Math.min(low + SEGMENT, below);
    segment.fill(0);
    for (const p of bases) {
      if (p * p >= high) break;
      for (let j = Math.max(p * p, Math.ceil(low / p) * p); j < high; j += p) segment[j - low] = 1;
    }
    for (let i = low; i < high; i++) if (!segment[i - low]) count++;
  }
  return { below, count };
}
