/**
 * The primary's own HTTP server, on `metrics-bind` (never an app address):
 *   /metrics      Prometheus text: every worker's metrics and the primary's, aggregated (counters and
 *                 histograms summed; process metrics kept apart by their `worker` label)
 *   /live         200 while the primary runs
 *   /ready        200 once a worker serves, 503 before that and while stopping (a load balancer's check)
 *   /status.json  the same numbers, summed up for the status page
 *   /status       a page for people (status-page.ts)
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { Logger } from '../../logger.js';
import { ErrorCode, GantryError } from '../../errors.js';
import { type BindAddress, bindUrl, formatBind, listenOptions } from '../bind.js';
import type { PrimaryMetrics, StatusSource } from './metrics.js';
import { STATUS_PAGE } from './status-page.js';

export class StatusServer {
  readonly #server: Server;
  readonly #bind: BindAddress;
  readonly #source: StatusSource;
  readonly #metrics: PrimaryMetrics;
  readonly #log: Logger;

  constructor(bind: BindAddress, source: StatusSource, metrics: PrimaryMetrics, log: Logger) {
    this.#bind = bind;
    this.#source = source;
    this.#metrics = metrics;
    this.#log = log;
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'GET only\n');
      if (path === '/live') return send(200, 'text/plain', 'ok\n');
      if (path === '/ready') {
        const ready = this.#source.ready();
        return send(ready ? 200 : 503, 'text/plain', ready ? 'ready\n' : 'not ready\n');
      }
      if (path === '/metrics') {
        const registry = await this.#metrics.aggregate();
        return send(200, registry.contentType, await registry.metrics());
      }
      if (path === '/status.json') {
        return send(200, 'application/json', JSON.stringify(await this.#metrics.summary()));
      }
      if (path === '/status' || path === '/') return send(200, 'text/html; charset=utf-8', STATUS_PAGE);
      send(404, 'text/plain', 'not found: try /metrics, /live, /ready or /status\n');
    } catch (error) {
      this.#log.error({ err: error }, 'the status server failed to answer');
      if (!res.headersSent) send(500, 'text/plain', 'internal error\n');
    }
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new GantryError(
            ErrorCode.BIND,
            `Cannot listen on metrics-bind ${formatBind(this.#bind)}: ${error.code ?? error.message}.`,
          ),
        ),
      );
      this.#server.listen(listenOptions(this.#bind), () => {
        this.#log.info(`metrics, health and status at ${bindUrl(this.#bind)}/metrics, /live, /ready, /status`);
        resolve();
      });
    });
  }

  close(): void {
    this.#server.closeAllConnections();
    this.#server.close();
  }
}
