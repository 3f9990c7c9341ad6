/**
 * The `workers` setting: a count, or `auto` for one worker per CPU this process may use (cpu-budget.ts).
 * `auto` is resolved when the settings are, and what it came to is kept for the primary's start-up line.
 */
import { type Codec, InvalidValue, integer } from '../settings/codecs.js';
import { type CpuBudget, cpuBudget } from './cpu-budget.js';

const MAX_WORKERS = 1024;
const count = integer({ min: 1, max: MAX_WORKERS });
const EXPECTED = `${count.expected}, or auto (one per CPU of the container's quota, else of the machine)`;

let resolvedAuto: CpuBudget | undefined;

/** What `auto` came to, if the workers setting was auto in this process. */
export function autoWorkers(): CpuBudget | undefined {
  return resolvedAuto;
}

function parse(raw: string): number {
  if (raw.trim().toLowerCase() === 'auto') {
    resolvedAuto = cpuBudget();
    return Math.min(MAX_WORKERS, resolvedAuto.cpus);
  }
  try {
    return count.fromString(raw);
  } catch {
    throw new InvalidValue(EXPECTED);
  }
}

export const workersCodec: Codec<number, number | 'auto'> = {
  expected: EXPECTED,
  meta: 'INT|auto',
  fromString: parse,
  fromValue: (value) => (typeof value === 'number' ? parse(String(value)) : typeof value === 'string' ? parse(value) : parse('')),
  format: String,
};
