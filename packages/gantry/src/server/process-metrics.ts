/**
 * What the primary and its workers both record and exchange (prom-client): each process's own metrics
 * (memory, CPU, GC, event-loop lag), labelled with who it is, and the JSON form a registry travels in
 * between processes (messages.ts).
 */
import { type MetricObjectWithValues, type MetricValue, type Registry, collectDefaultMetrics } from 'prom-client';

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/**
 * prom-client samples event-loop delay every 10 ms by default and reports the sampling interval along
 * with the lag, so an idle loop would show 10+ ms; at 1 ms (a thousand cheap timer wake-ups a second,
 * only with metrics on) an idle loop shows about 1 ms.
 */
const EVENT_LOOP_PRECISION_MS = 1;

/** prom-client's process metrics on `registry`, labelled `worker="<who>"` ("1", "2"..., or "primary"). */
export function collectProcessMetrics(registry: Registry, who: string): void {
  collectDefaultMetrics({ register: registry, labels: { worker: who }, eventLoopMonitoringPrecision: EVENT_LOOP_PRECISION_MS });
}
