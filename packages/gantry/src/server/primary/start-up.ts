/**
 * What the primary does before its first worker (and, for preload, before each reload): steps bounded by
 * boot-timeout, each of which a stop signal ends at once.
 */
import { ErrorCode, GantryError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { withTimeLimit } from '../../time-limit.js';
import { loadApp } from '../app/load.js';
import type { ServerSettings } from '../settings.js';

export type StartUpStep = readonly [what: string, run: () => Promise<unknown>];

/**
 * Runs the steps in order. A step that hangs past boot-timeout is an error that says which step hung
 * (exit 3); a stop requested meanwhile ends the start-up: resolves with what `stopped` resolved with.
 */
export async function runStartUpSteps<Stop>(
  steps: readonly StartUpStep[],
  bootTimeoutSeconds: number,
  stopped: Promise<Stop>,
): Promise<Stop | undefined> {
  const stop = stopped.then((by) => ({ stoppedBy: by }));
  for (const [what, step] of steps) {
    const limited = withTimeLimit(step(), bootTimeoutSeconds * 1000, () => {
      throw new GantryError(ErrorCode.BOOT_TIMEOUT, `${what} did not finish within boot-timeout (${bootTimeoutSeconds} s).`);
    });
    const outcome = await Promise.race([limited.then(() => undefined), stop]);
    if (outcome) return outcome.stoppedBy;
  }
  return undefined;
}

export interface PreloadOptions {
  readonly app: string;
  readonly cwd: string;
  readonly settings: ServerSettings;
  /** A reload's preload must see the app's files as they are now, not as first imported. */
  readonly fresh: boolean;
  readonly log: Logger;
}

/** preload: the app must load in the primary before any worker is forked (it is then closed again). */
export async function preloadApp({ app, cwd, settings, fresh, log }: PreloadOptions): Promise<void> {
  log.info(`preload: loading ${app} in the primary`);
  const loaded = await loadApp(app, {
    cwd,
    context: { workerId: 0, workers: settings.workers },
    fresh,
    appKind: settings.appKind,
    adoptWithinMs: settings.bootTimeout * 1000,
  });
  await loaded.close?.();
  log.info(`preload: ${app} loads (${settings.workers} workers will serve it)`);
}
