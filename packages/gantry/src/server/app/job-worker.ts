/**
 * Loads "module[:export]" into a job worker, for `gantry run`: what takes work from a queue, as an app
 * takes requests. Which export: the one named, else the default, else the module itself when it has
 * top-level `start` and `stop`. What it may be: an object with `start(context)` (resolves once it takes
 * work) and `stop({ timeoutMs })` (stops taking work and resolves once what runs has finished or been
 * released, within the budget), or a factory `(context) => that object`, sync or async, called once per
 * worker.
 */
import { relative } from 'node:path';
import { ErrorCode, GantryError, describeError } from '../../errors.js';
import { importFile, resolveModule } from '../../module-loader.js';
import { parseAppSpec } from './load.js';

export interface JobContext {
  /** 1-based, stable across respawns of the same slot. */
  readonly workerId: number;
  /** How many job workers this server runs (its --workers). */
  readonly workers: number;
  /** Aborted once the worker starts stopping: long work may check it between its steps. */
  readonly signal: AbortSignal;
  /**
   * Runs `work`, recorded as what this worker is doing: a watchdog report of a stuck event loop names
   * it, a stop that runs out of time lists it, and with metrics-bind it counts in gantry_jobs_total,
   * gantry_job_duration_seconds and gantry_jobs_running under its `queue` (default "default"): failed
   * when `work` throws, completed when it resolves.
   */
  track<T>(what: string, work: () => Promise<T> | T, labels?: { readonly queue?: string }): Promise<T>;
}

export interface JobWorker {
  start(context: JobContext): unknown;
  stop(options: { readonly timeoutMs: number }): unknown;
}

function isJobWorker(value: unknown): value is JobWorker {
  if (typeof value !== 'object' || value === null) return false;
  const { start, stop } = value as Record<string, unknown>;
  return typeof start === 'function' && typeof stop === 'function';
}

function exportError(message: string): GantryError {
  return new GantryError(ErrorCode.APP_EXPORT, message);
}

function pickExport(namespace: Record<string, unknown>, exportName: string | undefined, label: string): unknown {
  if (exportName !== undefined) {
    if (!(exportName in namespace)) {
      throw exportError(
        `${label} has no export named "${exportName}" (its exports: ${Object.keys(namespace).join(', ') || 'none'}).`,
      );
    }
    return namespace[exportName];
  }
  const fallback = namespace.default as Record<string, unknown> | undefined;
  // TypeScript's `export default` compiled to CommonJS arrives as { __esModule, default }.
  if (fallback && typeof fallback === 'object' && fallback.__esModule === true && 'default' in fallback) return fallback.default;
  if (fallback !== undefined) return fallback;
  return isJobWorker(namespace) ? namespace : undefined;
}

export interface LoadJobOptions {
  readonly cwd: string;
  readonly context: JobContext;
  readonly fresh?: boolean;
}

/** Loads the job worker; errors as loadApp's: exit 4 for a wrong spec or export, 3 for what the module throws. */
export async function loadJobWorker(spec: string, { cwd, context, fresh = false }: LoadJobOptions): Promise<JobWorker> {
  const { module, exportName } = parseAppSpec(spec);
  const file = resolveModule(module, cwd, 'app');
  const label = relative(cwd, file) || file;
  let namespace: Record<string, unknown>;
  try {
    namespace = await importFile(file, cwd, { fresh });
  } catch (error) {
    if (error instanceof GantryError) throw error;
    throw new GantryError(ErrorCode.APP_BOOT, `The job worker ${label} failed to load: ${describeError(error)}`, {
      cause: error,
      showCause: true,
    });
  }
  let value = pickExport(namespace, exportName, label);
  if (typeof value === 'function') {
    try {
      value = await (value as (context: JobContext) => unknown)(context);
    } catch (error) {
      if (error instanceof GantryError) throw error;
      throw new GantryError(ErrorCode.APP_BOOT, `The job worker ${label} failed to start: ${describeError(error)}`, {
        cause: error,
        showCause: true,
      });
    }
  }
  if (!isJobWorker(value)) {
    throw exportError(
      `${label}${exportName ? `:${exportName}` : ''} is no job worker: expected an object with start(context) and ` +
        'stop({ timeoutMs }) (or top-level start and stop exports), or a function returning one.',
    );
  }
  return value;
}
