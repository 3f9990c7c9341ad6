/** The IPC protocol between the primary (arbiter) and its workers. Every message carries `gantry`. */
import type { ErrorCodeValue, ExitCodeValue } from '../errors.js';

export type WorkerMessage =
  | { readonly gantry: 'ready' }
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
  | { readonly gantry: 'quit' };

function isGantryMessage(message: unknown): boolean {
  return typeof message === 'object' && message !== null && typeof (message as { gantry?: unknown }).gantry === 'string';
}

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return isGantryMessage(message);
}

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return isGantryMessage(message);
}

/** The environment variable carrying the worker's settings (JSON) from the primary. */
export const WORKER_SETTINGS_ENV = 'GANTRY_WORKER_SETTINGS';
