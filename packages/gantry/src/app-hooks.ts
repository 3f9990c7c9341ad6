/**
 * gantry/app: what an app tells the worker that serves it, and what the worker tells the app.
 * Readiness checks (is the database there?) that PREFIX/ready and `gantry health` include, prom-client
 * registries whose metrics the primary aggregates with gantry's own, and listeners told when the worker
 * begins to drain (its long-lived connections are about to be closed). Kept on a global, not in this module, because the app may import
 * another copy of gantry than the server's.
 */

/** A readiness check: resolves when the dependency is usable, throws (or rejects) with the reason when not. */
export type ReadinessCheck = (signal: AbortSignal) => unknown;

export interface ReadinessCheckEntry {
  readonly name: string;
  readonly check: ReadinessCheck;
  /** A check that has not settled within this long fails (default 1000 ms). */
  readonly timeoutMs: number;
}

/** What a prom-client Registry offers that gantry reads (any version's, any copy's). */
export interface MetricsSource {
  getMetricsAsJSON(): Promise<unknown[]> | unknown[];
}

/** What a drain listener is told. */
export interface DrainNotice {
  /** Date.now() by which the worker cuts the WebSockets and event streams still open (long-lived-timeout). */
  readonly longLivedDeadline: number;
}

export type DrainListener = (notice: DrainNotice) => void;

interface AppHooks {
  readonly readinessChecks: Map<string, ReadinessCheckEntry>;
  readonly metrics: Set<MetricsSource>;
  readonly drainListeners: Set<DrainListener>;
}

const KEY = Symbol.for('gantry.app-hooks');

/** The hooks every copy of gantry in this process shares. */
export function appHooks(): AppHooks {
  const holder = globalThis as typeof globalThis & { [KEY]?: AppHooks };
  return (holder[KEY] ??= { readinessChecks: new Map(), metrics: new Set(), drainListeners: new Set() });
}

/**
 * Adds a readiness check (a name takes the place of the check of that name). While one fails, the
 * worker's PREFIX/ready answers 503 naming it, so a load balancer or `gantry health` stops sending
 * traffic; it recovers by itself once the check passes. Liveness (PREFIX/live) never runs checks: a slow
 * database must not get workers killed.
 */
export function addReadinessCheck(name: string, check: ReadinessCheck, options: { timeoutMs?: number } = {}): void {
  const timeoutMs = options.timeoutMs ?? 1000;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0))
    throw new RangeError(`timeoutMs must be a positive number of ms, not ${timeoutMs}`);
  appHooks().readinessChecks.set(name, { name, check, timeoutMs });
}

/**
 * Has the primary serve this registry's metrics beside gantry's on `metrics-bind`: counters and
 * histograms summed across workers, gauges summed too unless the metric says otherwise (prom-client's
 * `aggregator` option: 'max', 'min', 'average', 'first', 'omit'). Pass prom-client's `register` for
 * everything registered globally. Without `metrics-bind` this does nothing.
 */
export function collectMetrics(registry: MetricsSource): void {
  appHooks().metrics.add(registry);
}

/**
 * Calls `listener` when this worker begins to drain (a reload, a recycle, a stop), before gantry closes
 * the worker's WebSockets (1001 "going away", spread over the first part of long-lived-timeout) and
 * ends its event streams. A WebSocket the listener closes itself, synchronously or before its turn, is
 * left to it; whatever is still open at the deadline is cut. Returns a function that removes it.
 */
export function onDrain(listener: DrainListener): () => void {
  const { drainListeners } = appHooks();
  drainListeners.add(listener);
  return () => drainListeners.delete(listener);
}
