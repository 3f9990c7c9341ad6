/**
 * A web worker's service: the app, loaded once, served by one HttpService on every bind address, with
 * the access log and the request metrics. Its drain stops accepting without losing a connection that
 * node:cluster hands over meanwhile.
 */
import type { Logger } from '../../logger.js';
import { type LoadedApp, loadApp } from '../app/load.js';
import { type AccessLog, createAccessLog } from '../http/access-log.js';
import type { InFlightBoard } from '../http/in-flight-board.js';
import { HttpService } from '../http/service.js';
import type { WorkerSpec } from '../messages.js';
import { send } from './channel.js';
import type { WorkerRegistry } from './metrics.js';

export class WebService {
  readonly #app: LoadedApp;
  readonly #http: HttpService;
  readonly #accessLog: AccessLog | undefined;
  readonly #spec: WorkerSpec;
  readonly #logger: Logger;

  private constructor(spec: WorkerSpec, app: LoadedApp, http: HttpService, accessLog: AccessLog | undefined, logger: Logger) {
    this.#spec = spec;
    this.#logger = logger;
    this.#app = app;
    this.#http = http;
    this.#accessLog = accessLog;
  }

  /** Loads the app and readies its HttpService (nothing is bound yet). */
  static async load(
    spec: WorkerSpec,
    logger: Logger,
    board: InFlightBoard | undefined,
    registry: WorkerRegistry | undefined,
  ): Promise<WebService> {
    const { settings, workerId } = spec;
    const accessLog = settings.accessLog === null ? undefined : createAccessLog(settings.accessLog, settings.accessLogFormat);
    const app = await loadApp(spec.app, {
      cwd: spec.cwd,
      context: { workerId, workers: settings.workers },
      trackRoutes: registry !== undefined,
      fastResponse: settings.fastResponse,
      appKind: settings.appKind,
      // Within the worker's loading limit (worker.ts), so that an app that never starts a server is told just that.
      adoptWithinMs: Math.max(1000, settings.bootTimeout * 1000 - 1000),
      argv: spec.appArgs,
      ...(settings.bind[0] ? { reportedAddress: settings.bind[0] } : {}),
    });
    // prom-client is loaded only where metrics are on.
    const metricsModule = registry ? await import('../http/metrics.js') : undefined;
    const metrics = registry && metricsModule ? new metricsModule.RequestMetrics(registry.registry) : undefined;
    const longLivedMetrics = registry && metricsModule ? new metricsModule.LongLivedMetrics(registry.registry) : undefined;
    const http = new HttpService({
      settings: { ...settings, maxRequests: spec.maxRequests },
      handler: app.handle,
      upgrade: app.upgrade,
      logger,
      accessLog,
      board,
      metrics,
      longLivedMetrics,
      onMaxRequests: () => {
        logger.info(`served ${spec.maxRequests} requests (max-requests): asking to be replaced`);
        void send({ gantry: 'recycle', reason: 'max_requests' });
      },
    });
    return new WebService(spec, app, http, accessLog, logger);
  }

  listen(): Promise<void> {
    return this.#http.listen(this.#spec.settings.bind);
  }

  /**
   * Stops accepting and finishes the requests under way within `timeoutMs`. node:cluster's round-robin
   * primary may have handed this worker a connection just before it saw the listener close.
   * `handedOff`, called once the listeners are closed, resolves when the primary says none is in flight
   * any more (IPC is ordered); the drain waits for it too, so that such a connection is served or sent
   * back, never lost with the process.
   */
  async drain(timeoutMs: number, handedOff: () => Promise<unknown>): Promise<void> {
    const [{ destroyed, interrupted, longLivedCut }] = await Promise.all([this.#http.drain(timeoutMs), handedOff()]);
    if (longLivedCut > 0) {
      this.#logger.warn(`long-lived timeout: cut ${longLivedCut} WebSocket(s) or event stream(s) still open`);
    }
    if (destroyed > 0) {
      this.#logger.warn(
        { interrupted: interrupted.map(({ req }) => `${req.method} ${req.url}`) },
        `graceful timeout: closed ${destroyed} connection(s) with ${interrupted.length} request(s) still running`,
      );
    }
  }

  /** Fast stop: listeners and connections closed now. */
  destroy(): void {
    this.#http.destroy();
  }

  reopenLogs(): void {
    this.#accessLog?.reopen();
  }

  flushLogs(): void {
    this.#accessLog?.flush();
  }

  /** The app's close(), once drained (Fastify's onClose hooks, an adopted server's 'close'). */
  async close(): Promise<void> {
    await this.#app.close?.();
  }
}
