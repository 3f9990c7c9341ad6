/** The IPC protocol between the primary (arbiter) and its workers. Every message carries `gantry`. */
import type { ErrorCodeValue, ExitCodeValue } from '../errors.js';

export type WorkerMessage =
  /** The worker's listeners are open: it is serving. */
  | { readonly gantry: 'ready' }
  /** The event loop turned (sent every HEARTBEAT_MS once ready). */
  | { readonly gantry: 'heartbeat' }
  /** max-requests reached: replace me (the primary starts a successor, then drains this worker). */
  | { readonly gantry: 'recycle' }
  /** My listeners are closed; I exit once you answer 'no-more-connections' (see worker.ts). */
  | { readonly gantry: 'stopped-accepting' }
  | {
      readonly gantry: 'boot-error';
      readonly code: ErrorCodeValue;
      readonly message: string;
      /** A stack trace, when the failure is inside the app rather than a user mistake. */
      readonly detail?: string;
      readonly exitCode: ExitCodeValue;
    };

export type PrimaryMessage =
  /** Stop accepting, finish in-flight requests within `timeoutMs`, then exit 0. */
  | { readonly gantry: 'drain'; readonly timeoutMs: number }
  /** Exit now. */
  | { readonly gantry: 'quit' }
  /** Reopen log files (SIGUSR1 on the primary). */
  | { readonly gantry: 'reopen-logs' }
  /** The answer to 'stopped-accepting': every connection handed to the worker before it is delivered. */
  | { readonly gantry: 'no-more-connections' };

export const HEARTBEAT_MS = 1000;

function isGantryMessage(message: unknown): boolean {
  return typeof message === 'object' && message !== null && typeof (message as { gantry?: unknown }).gantry === 'string';
}

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return isGantryMessage(message);
}

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return isGantryMessage(message);
}

/** The environment variable carrying the worker's spec (JSON) from the primary. */
export const WORKER_SETTINGS_ENV = 'GANTRY_WORKER_SETTINGS';
