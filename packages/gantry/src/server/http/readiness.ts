/**
 * A worker's readiness beyond "it serves": the app's own checks (gantry/app's addReadinessCheck), run
 * when PREFIX/ready is asked, each within its time limit, all at once. One run serves every probe that
 * arrives while it runs and for a second after, so a probe storm costs one `SELECT 1`. A change of
 * verdict is logged once (what failed and why, then that it recovered), not per probe.
 */
import { type ReadinessCheckEntry, appHooks } from '../../app-hooks.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { withTimeLimit } from '../../time-limit.js';

/** How long a verdict answers later probes. */
const VERDICT_TTL_MS = 1000;

export interface Verdict {
  readonly ready: boolean;
  /** `name: reason` for each failing check. */
  readonly failures: readonly string[];
}

const READY: Verdict = { ready: true, failures: [] };

async function runCheck({ name, check, timeoutMs }: ReadinessCheckEntry): Promise<string | undefined> {
  const abort = new AbortController();
  try {
    await withTimeLimit(
      Promise.resolve().then(() => check(abort.signal)),
      timeoutMs,
      () => {
        abort.abort();
        throw new Error(`no answer within ${timeoutMs} ms`);
      },
    );
    return undefined;
  } catch (error) {
    return `${name}: ${describeError(error)}`;
  }
}

export class Readiness {
  readonly #logger: Logger;
  #latest: { verdict: Verdict; at: number } | undefined;
  #running: Promise<Verdict> | undefined;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Whether the app registered any check (without one, readiness is the worker's alone). */
  get hasChecks(): boolean {
    return appHooks().readinessChecks.size > 0;
  }

  verdict(): Promise<Verdict> {
    const latest = this.#latest;
    if (latest && performance.now() - latest.at < VERDICT_TTL_MS) return Promise.resolve(latest.verdict);
    return (this.#running ??= this.#run().finally(() => (this.#running = undefined)));
  }

  async #run(): Promise<Verdict> {
    const checks = [...appHooks().readinessChecks.values()];
    const failures = (await Promise.all(checks.map(runCheck))).filter((failure) => failure !== undefined);
    const verdict = failures.length === 0 ? READY : { ready: false, failures };
    const before = this.#latest?.verdict;
    if (!verdict.ready && String(before?.failures) !== String(failures)) {
      this.#logger.warn({ failures }, `not ready: ${failures.join('; ')}`);
    } else if (verdict.ready && before && !before.ready) {
      this.#logger.info('ready again: every readiness check passes');
    }
    this.#latest = { verdict, at: performance.now() };
    return verdict;
  }
}
