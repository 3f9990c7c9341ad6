/**
 * The request metrics of a web worker (prom-client), on its registry (worker/metrics.ts): requests by
 * method, route pattern and status class, their duration, and the requests in flight.
 *
 * Labels stay bounded: the method is one of the standard ones or OTHER, the route is the pattern the
 * framework matched (never the raw path) or "other", the status is its class (2xx).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { routeOf } from './route.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Fine below 10 ms, where a node server answers most requests. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class RequestMetrics {
  readonly #requests: Counter<'method' | 'route' | 'status_class'>;
  readonly #duration: Histogram<'method' | 'route' | 'status_class'>;
  readonly #inFlight: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#requests = new Counter({
      name: 'gantry_http_requests_total',
      help: 'Requests answered, by method, route pattern and status class',
      labelNames: ['method', 'route', 'status_class'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'gantry_http_request_duration_seconds',
      help: 'Time from the request to the end of its response, by method, route pattern and status class',
      labelNames: ['method', 'route', 'status_class'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#inFlight = new Gauge({ name: 'gantry_http_requests_in_flight', help: 'Requests being served', registers });
  }

  begin(): void {
    this.#inFlight.inc();
  }

  end(req: IncomingMessage, res: ServerResponse, seconds: number): void {
    const method = req.method !== undefined && METHODS.has(req.method) ? req.method : 'OTHER';
    const labels = { method, route: routeOf(req), status_class: `${Math.floor(res.statusCode / 100)}xx` };
    this.#requests.inc(labels);
    this.#duration.observe(labels, seconds);
    this.#inFlight.dec();
  }
}

const LONG_LIVED_KINDS = ['websocket', 'upgrade', 'event_stream'] as const;
const LONG_LIVED_REFUSALS = ['limit', 'draining', 'handshake'] as const;
const LONG_LIVED_DROPS = ['slow_reader', 'deadline'] as const;
export type LongLivedKind = (typeof LONG_LIVED_KINDS)[number];
export type LongLivedRefusal = (typeof LONG_LIVED_REFUSALS)[number];
export type LongLivedDrop = (typeof LONG_LIVED_DROPS)[number];

/** WebSockets (and other upgrades) and event streams: open now, refused, and cut. */
export class LongLivedMetrics {
  readonly #open: Gauge<'kind'>;
  readonly #refused: Counter<'reason'>;
  readonly #dropped: Counter<'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#open = new Gauge({
      name: 'gantry_long_lived_connections',
      help: 'Open WebSockets, other upgraded connections and event streams (text/event-stream), by kind',
      labelNames: ['kind'],
      registers,
    });
    this.#refused = new Counter({
      name: 'gantry_long_lived_refused_total',
      help: 'Upgrades and event-stream requests refused: over max-long-lived (503), while draining (503), a bad handshake (400/426)',
      labelNames: ['reason'],
      registers,
    });
    this.#dropped = new Counter({
      name: 'gantry_long_lived_dropped_total',
      help: 'Long-lived connections cut: a client that stopped reading (max-send-buffer), or still open at long-lived-timeout',
      labelNames: ['reason'],
      registers,
    });
    // Every series exists from the start, at 0: a dashboard shows "none open" and "none refused" rather
    // than no data, and an increase() counts the first one.
    for (const kind of LONG_LIVED_KINDS) this.#open.set({ kind }, 0);
    for (const reason of LONG_LIVED_REFUSALS) this.#refused.inc({ reason }, 0);
    for (const reason of LONG_LIVED_DROPS) this.#dropped.inc({ reason }, 0);
  }

  opened(kind: LongLivedKind): void {
    this.#open.inc({ kind });
  }

  closed(kind: LongLivedKind): void {
    this.#open.dec({ kind });
  }

  refused(reason: LongLivedRefusal): void {
    this.#refused.inc({ reason });
  }

  dropped(reason: LongLivedDrop): void {
    this.#dropped.inc({ reason });
  }
}
