/** The IPC protocol between the primary (arbiter) and its workers. Every message carries `gantry`. */
import type { ErrorCodeValue } from '../errors.js';
import type { MetricsJson } from './process-metrics.js';
import type { ServerSettings } from './settings.js';

export type WorkerKind = 'web' | 'jobs';

/** What the primary hands a worker (as JSON in WORKER_SETTINGS_ENV). */
export interface WorkerSpec {
  /** A web worker (gantry serve: the app on the bind addresses) or a job worker (gantry run). */
  readonly kind: WorkerKind;
  readonly settings: ServerSettings;
  readonly app: string;
  readonly cwd: string;
  readonly workerId: number;
  /** The app's own arguments (its process.argv after its file). */
  readonly appArgs: readonly string[];
  /** The config file, for the worker-side hooks; absolute. */
  readonly configFile?: string;
  /** This worker's max-requests, jitter drawn (0: no limit). */
  readonly maxRequests: number;
  /** This worker's RSS limit in MiB, jitter drawn (0: no limit). */
  readonly maxMemoryMiB: number;
  /** A successor: report 'loaded' and open the listeners only on the primary's 'listen'. */
  readonly deferListen?: boolean;
}

export type WorkerMessage =
  /** A successor loaded the app and waits for 'listen' (see Arbiter's successions). */
  | { readonly gantry: 'loaded' }
  /** The worker's listeners are open: it is serving. */
  | { readonly gantry: 'ready' }
  /** The event loop turned (sent every HEARTBEAT_MS once ready). */
  | { readonly gantry: 'heartbeat' }
  /** max-requests or max-worker-memory reached: replace me (a successor starts, then this worker drains). */
  | { readonly gantry: 'recycle'; readonly reason: RecycleReason }
  /** An uncaught exception: I stop accepting, finish my requests and exit; start my replacement now. */
  | { readonly gantry: 'crashed' }
  /** My listeners are closed; I exit once you answer 'no-more-connections' (see worker.ts). */
  | { readonly gantry: 'stopped-accepting' }
  /** The answer to 'collect-metrics': this worker's prom-client registry, as JSON. */
  | { readonly gantry: 'metrics'; readonly id: number; readonly metrics: MetricsJson }
  /** A drained worker's last counters, sent before it exits, so that sums across workers never go down. */
  | { readonly gantry: 'final-metrics'; readonly metrics: MetricsJson }
  | {
      readonly gantry: 'boot-error';
      readonly code: ErrorCodeValue;
      readonly message: string;
      /** A stack trace, when the failure is inside the app rather than a user mistake. */
      readonly detail?: string;
    };

export type PrimaryMessage =
  /** Every successor has loaded the app: open your listeners. */
  | { readonly gantry: 'listen' }
  /** Stop accepting, finish in-flight requests within `timeoutMs`, then exit 0. */
  | { readonly gantry: 'drain'; readonly timeoutMs: number }
  /** Exit now. */
  | { readonly gantry: 'quit' }
  /** Reopen log files (SIGUSR1 on the primary). */
  | { readonly gantry: 'reopen-logs' }
  /** The answer to 'stopped-accepting': every connection handed to the worker before it is delivered. */
  | { readonly gantry: 'no-more-connections' }
  /** Send your metrics (answered with 'metrics' and the same id). */
  | { readonly gantry: 'collect-metrics'; readonly id: number };

/** Why a worker asks to be replaced; the restart reason in metrics. */
export type RecycleReason = 'max_requests' | 'memory';

export const HEARTBEAT_MS = 1000;

/** How long a worker that stopped accepting waits for 'no-more-connections' (the primary may be gone). */
export const HANDOFF_WAIT_MS = 2000;
/** After its drain, the time a worker gives the workerExit hook, the app's close() and its threads, together. */
export const AFTER_DRAIN_MS = 5000;

/** How long a graceful stop of a worker may take in all, before the primary SIGKILLs it. */
export function stopBudgetMs(gracefulTimeoutSeconds: number): number {
  return gracefulTimeoutSeconds * 1000 + HANDOFF_WAIT_MS + AFTER_DRAIN_MS + 1000;
}
