/**
 * What a suite needs from the machine (nginx, the request corpus, Prometheus, Chromium...). Without it the
 * suite is skipped, loudly: its name says what is missing and how to get it, and the summary printed at
 * the end of every run (test/support/summary-reporter.ts) lists each skip. Under CI=true a missing
 * requirement fails the run instead: CI installs everything.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe } from 'vitest';

export interface Requirement {
  readonly available: boolean;
  /** What is missing and how to get it: "nginx (apt-get install nginx)". */
  readonly what: string;
}

/** Whether `program` is on PATH (found, whatever it would answer to being run). */
export function onPath(program: string): Promise<boolean> {
  return promisify(execFile)('sh', ['-c', 'command -v "$1"', 'sh', program]).then(
    () => true,
    () => false,
  );
}

export function requirement(available: boolean, what: string): Requirement {
  if (!available && process.env.CI) throw new Error(`the tests need ${what}; CI must provide it (.ci/run)`);
  return { available, what };
}

/** describe() when the requirement is met, else describe.skip() with "[skipped: needs ...]" in its name. */
export function describeWith(need: Requirement, name: string, body: () => void): void {
  if (need.available) describe(name, body);
  else describe.skip(`${name} [skipped: needs ${need.what}]`, body);
}
