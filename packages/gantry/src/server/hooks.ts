/**
 * Lifecycle hooks, set in the config file's `hooks` object (gunicorn's server hooks, typed):
 *
 *   export default defineConfig({ hooks: { whenReady: (server) => server.log.info('up') } });
 *
 * Primary-side hooks get the server; worker-side hooks run in the worker process and get the worker.
 * A hook may be async; gantry waits for it. A hook that throws is logged and the server goes on,
 * except onStarting, whose failure stops the start (a database the app needs is unreachable: one clear
 * line and exit 3, before any worker), and postFork: a worker that could not be set up is a worker that
 * failed to boot.
 */
import { describeError } from '../errors.js';
import { closest } from '../settings/suggest.js';
import type { Logger } from '../logger.js';
import type { WorkerKind } from './messages.js';
import type { ServerSettings } from './settings.js';

export interface ServerContext {
  /** What this server's workers do: 'web' (gantry serve) or 'jobs' (gantry run), when one config file serves both. */
  readonly kind: WorkerKind;
  readonly settings: Readonly<ServerSettings>;
  readonly log: Logger;
  /** The workers serving now. */
  readonly workers: readonly { readonly id: number; readonly pid: number }[];
}

export interface WorkerContext {
  readonly kind: WorkerKind;
  readonly id: number;
  readonly pid: number;
  readonly settings: Readonly<ServerSettings>;
  readonly log: Logger;
}

type Hook<C> = (context: C) => void | Promise<void>;

export interface Hooks {
  /** In the primary, before the first worker is forked; if it throws, the server does not start. */
  onStarting?: Hook<ServerContext>;
  /** In the primary, once every worker of the first start is serving. */
  whenReady?: Hook<ServerContext>;
  /** In the primary, on SIGHUP, after the settings are read again and before the new workers start. */
  onReload?: Hook<ServerContext>;
  /** In the primary, just before it exits. */
  onExit?: Hook<ServerContext>;
  /** In each worker, before it loads the app. */
  postFork?: Hook<WorkerContext>;
  /** In each worker, after it has drained, just before it exits. */
  workerExit?: Hook<WorkerContext>;
}

const HOOK_NAMES: readonly (keyof Hooks)[] = ['onStarting', 'whenReady', 'onReload', 'onExit', 'postFork', 'workerExit'];

/** Problems with a config file's `hooks` value: unknown names (with a suggestion) and non-functions. */
export function hookProblems(value: unknown, path: string): string[] {
  if (value === undefined) return [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [`hooks (config file ${path}) must be an object of functions, e.g. { whenReady(server) {} }`];
  }
  return Object.entries(value).flatMap(([name, hook]) => {
    if (!HOOK_NAMES.includes(name as keyof Hooks)) {
      const hint = closest(name, HOOK_NAMES);
      return [
        `hooks.${name} (config file ${path}) is not a hook${hint ? `; did you mean ${hint}?` : `; hooks: ${HOOK_NAMES.join(', ')}`}`,
      ];
    }
    return typeof hook === 'function' ? [] : [`hooks.${name} (config file ${path}) must be a function`];
  });
}

/** The hooks whose failure is thrown rather than logged (see the header). */
const FATAL_HOOKS: readonly (keyof Hooks)[] = ['onStarting', 'postFork'];

/**
 * Runs a hook if there is one. A failure is logged and the server goes on, except for onStarting and
 * postFork, whose failure is thrown ("the postFork hook failed: ...", the hook's error as its cause).
 */
export async function runHook<C extends { log: Logger }>(hooks: Hooks, name: keyof Hooks, context: C): Promise<void> {
  const hook = hooks[name] as Hook<C> | undefined;
  if (!hook) return;
  try {
    await hook(context);
  } catch (error) {
    if (FATAL_HOOKS.includes(name)) throw new Error(`the ${name} hook failed: ${describeError(error)}`, { cause: error });
    context.log.error({ err: error }, `the ${name} hook failed`);
  }
}
