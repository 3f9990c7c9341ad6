/**
 * Every error gantry reports to a user has a stable `code` and the process exit code it leads to.
 * The catalogue is documented in docs/errors.md (a test keeps both in step).
 */

/** Exit codes of the gantry CLI: a contract with whatever supervises it (a shell, systemd, Docker, CI). */
export const ExitCode = {
  /** Stopped on request. */
  OK: 0,
  /** A runtime failure: an address could not be bound, nginx died, workers kept crashing. */
  FAILURE: 1,
  /** A user mistake in the command line, a setting or the app's configuration: fix the input. */
  USAGE: 2,
  /** The app threw while loading or starting (gunicorn's WORKER_BOOT_ERROR). */
  WORKER_BOOT_ERROR: 3,
  /** The app module or its export could not be found (gunicorn's APP_LOAD_ERROR). */
  APP_LOAD_ERROR: 4,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export const ErrorCode = {
  USAGE: 'GANTRY_ERR_USAGE',
  SETTINGS: 'GANTRY_ERR_SETTINGS',
  CONFIG_FILE: 'GANTRY_ERR_CONFIG_FILE',
  APP_CONFIG: 'GANTRY_ERR_APP_CONFIG',
  APP_NOT_FOUND: 'GANTRY_ERR_APP_NOT_FOUND',
  APP_EXPORT: 'GANTRY_ERR_APP_EXPORT',
  APP_BOOT: 'GANTRY_ERR_APP_BOOT',
  BOOT_TIMEOUT: 'GANTRY_ERR_BOOT_TIMEOUT',
  TYPESCRIPT_UNSUPPORTED: 'GANTRY_ERR_TYPESCRIPT_UNSUPPORTED',
  BIND: 'GANTRY_ERR_BIND',
  PID_FILE: 'GANTRY_ERR_PID_FILE',
  NGINX: 'GANTRY_ERR_NGINX',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface GantryErrorOptions {
  exitCode?: ExitCodeValue;
  cause?: unknown;
  /** Print the cause's stack trace: true for failures inside the app, false for user mistakes. */
  showCause?: boolean;
}

export class GantryError extends Error {
  override readonly name = 'GantryError';
  readonly code: ErrorCodeValue;
  readonly exitCode: ExitCodeValue;
  readonly showCause: boolean;

  constructor(code: ErrorCodeValue, message: string, options: GantryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.exitCode = options.exitCode ?? ExitCode.FAILURE;
    this.showCause = options.showCause ?? false;
  }
}

/** A list of problems found at once (settings, app configuration): reported together, exit 2. */
export class ProblemsError extends GantryError {
  readonly problems: readonly string[];

  constructor(code: ErrorCodeValue, title: string, problems: readonly string[]) {
    const plural = problems.length === 1 ? 'problem' : 'problems';
    super(code, `${title} (${problems.length} ${plural}):\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      exitCode: ExitCode.USAGE,
    });
    this.problems = problems;
  }
}

/** The one-line form of anything thrown, for messages; never a stack. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
