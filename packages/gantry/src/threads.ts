/**
 * gantry/threads: a pool of worker threads in each worker process, for CPU-heavy work (the seed's
 * "quick burst CPU intensive tasks"), so the event loop keeps answering other requests meanwhile.
 *
 *   // src/tasks/hash.ts:  export default function hash(input: { text: string }) { ... }
 *   import { runInThread } from 'gantry/threads';
 *   const digest = await runInThread<string>(new URL('./tasks/hash.js', import.meta.url), { text });
 *
 * The pool holds `threads` threads (the gantry setting; outside gantry, one per CPU), is created on
 * first use, and is shut down when the worker stops. It is piscina underneath.
 */
import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';

/** The environment variable through which a worker tells the app's copy of this module its size. */
export const THREADS_ENV = 'GANTRY_THREADS';

export interface RunOptions {
  /** A named export of the task module instead of its default export. */
  readonly name?: string;
  /** Cancels the task (if it has not started) or abandons its result. */
  readonly signal?: AbortSignal;
}

export interface ThreadStats {
  readonly threads: number;
  readonly maxThreads: number;
  readonly queued: number;
  readonly completed: number;
  /** 0..1: how busy the pool has been. */
  readonly utilization: number;
}

// Shared through globalThis, so that two copies of gantry in one process (the CLI's and the app's) use one pool.
const key = Symbol.for('gantry.threads.pool');
type Global = typeof globalThis & { [key]?: Piscina };

function size(): number {
  const configured = Number(process.env[THREADS_ENV]);
  return Number.isInteger(configured) && configured > 0 ? configured : availableParallelism();
}

/** The pool, made on first use (piscina itself is loaded only then: most workers never need it). */
async function pool(): Promise<Piscina> {
  const global = globalThis as Global;
  if (global[key]) return global[key];
  const { Piscina } = await import('piscina');
  return (global[key] ??= new Piscina({ maxThreads: size(), minThreads: 0, idleTimeout: 30_000 }));
}

/** Runs `module`'s default export (or `options.name`) with `input` on a pool thread; resolves with its result. */
export async function runInThread<R = unknown>(module: URL | string, input?: unknown, options: RunOptions = {}): Promise<R> {
  const filename = module instanceof URL ? module.href : module;
  return (await pool()).run(input, { filename, ...options }) as Promise<R>;
}

export function threadStats(): ThreadStats | undefined {
  const existing = (globalThis as Global)[key];
  if (!existing) return undefined;
  return {
    threads: existing.threads.length,
    maxThreads: existing.options.maxThreads,
    queued: existing.queueSize,
    completed: existing.completed,
    utilization: existing.utilization,
  };
}

/** Stops the pool once running tasks end (gantry calls this when a worker stops). */
export async function closeThreads(): Promise<void> {
  const global = globalThis as Global;
  const existing = global[key];
  delete global[key];
  await existing?.close();
}
