/**
 * A worker's HTTP side: one node:http server per bind address, all feeding one request pipeline:
 * limits and framing checks, proxy trust, in-flight tracking, error containment, access log, and a
 * count for max-requests. Bad input is answered 4xx and closed: a bad head before the app is called, a
 * bad streamed body as it arrives (the app, already called, sees its read of the body fail). Upgrades
 * (WebSockets) and event streams are long-lived connections besides (long-lived.ts): checked the same
 * way, then counted, limited and drained apart from requests.
 */
import { type IncomingMessage, STATUS_CODES, type Server, ServerResponse, createServer } from 'node:http';
import type { Socket } from 'node:net';
import { ErrorCode, GantryError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { AccessLog } from './access-log.js';
import { type BindAddress, formatBind, listenOptions } from '../bind.js';
import { answerAndClose, answerHealth, rawAnswer, refuseTunnel } from './answers.js';
import { ConnectionTracker, type DrainResult, type InFlight } from './connections.js';
import type { InFlightBoard } from './in-flight-board.js';
import { LongLivedConnections } from './long-lived.js';
import type { LongLivedMetrics, LongLivedRefusal, RequestMetrics } from './metrics.js';
import { type RequestLimits, checkRequest, headerBlockSize, requestLimits, watchStreamedBody } from './limits.js';
import { ProxyTrust, type Scheme } from './proxy.js';
import { Readiness } from './readiness.js';
import type { ServerSettings } from '../settings.js';
import { handshakeRefusal, isWebSocketUpgrade } from './websocket.js';

/** What a worker serves: the app reduced to one call, with gantry's view of the request's scheme. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse, scheme: Scheme) => unknown;

/**
 * An upgrade request (WebSocket): the request, its socket and the bytes read past its head. The app
 * answers on the socket (a WebSocket library's 101) and owns it from then on.
 */
export type UpgradeHandler = (req: IncomingMessage, socket: Socket, head: Buffer) => void;

export interface HttpServiceOptions {
  readonly settings: ServerSettings;
  readonly handler: RequestHandler;
  /** Upgrade requests (WebSocket), for an app that takes them; without one they are refused. */
  readonly upgrade?: UpgradeHandler | undefined;
  readonly logger: Logger;
  readonly accessLog?: AccessLog | undefined;
  readonly board?: InFlightBoard | undefined;
  /** Called once, when the worker has served its max-requests. */
  readonly onMaxRequests?: (() => void) | undefined;
  readonly metrics?: RequestMetrics | undefined;
  readonly longLivedMetrics?: LongLivedMetrics | undefined;
}

export interface ServiceDrainResult extends DrainResult {
  /** WebSockets and event streams still open at long-lived-timeout, and cut. */
  readonly longLivedCut: number;
}

/**
 * Logs a failure of the app while it handled `req`. A request that died under the app (the client went
 * away, or its body was malformed and refused) is no app error, and is only worth a debug line.
 */
function logAppFailure(logger: Logger, error: unknown, req: IncomingMessage): void {
  const aborted = req.destroyed && req.socket.destroyed;
  const fields = { err: error, method: req.method, url: req.url };
  if (aborted) logger.debug(fields, 'the request was aborted while the app handled it');
  else logger.error(fields, 'the app failed while handling a request');
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

export class HttpService {
  readonly #options: HttpServiceOptions;
  readonly #proxy: ProxyTrust;
  readonly #limits: RequestLimits;
  readonly #tracker: ConnectionTracker;
  readonly #readiness: Readiness;
  readonly #longLived: LongLivedConnections;
  readonly #servers: Server[] = [];
  #served = 0;

  constructor(options: HttpServiceOptions) {
    this.#options = options;
    this.#tracker = new ConnectionTracker(options.settings.drainIdleTimeout * 1000, this.#onDone);
    this.#proxy = new ProxyTrust(options.settings.forwardedAllowIps, options.settings.secureSchemeHeaders);
    this.#limits = requestLimits(options.settings);
    this.#readiness = new Readiness(options.logger);
    this.#longLived = new LongLivedConnections({
      limit: options.settings.maxLongLived,
      sendBufferLimit: options.settings.maxSendBuffer,
      logger: options.logger,
      metrics: options.longLivedMetrics,
    });
  }

  /** gantry's own answers: PREFIX/live and PREFIX/ready, before and without the app (and not logged). */
  #answerHealth(req: IncomingMessage, res: ServerResponse): boolean {
    const { healthPrefix } = this.#options.settings;
    const url = req.url;
    if (healthPrefix === '' || url === undefined || !url.startsWith(healthPrefix) || url.charCodeAt(healthPrefix.length) !== 47) {
      return false;
    }
    const what = url.slice(healthPrefix.length + 1);
    if (what !== 'live' && what !== 'ready') return false;
    const { draining } = this.#tracker;
    // Liveness never depends on the app's checks: a slow database must not get workers killed.
    if (what === 'live' || draining || !this.#readiness.hasChecks) {
      answerHealth(res, what === 'live' || !draining, draining ? ['draining'] : [], draining);
    } else {
      // The worker may have begun to drain while the checks ran.
      void this.#readiness.verdict().then(({ ready, failures }) => {
        const nowDraining = this.#tracker.draining;
        answerHealth(res, ready && !nowDraining, nowDraining ? ['draining'] : failures, nowDraining);
      });
    }
    return true;
  }

  #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    // It crossed gantry's FIN on a connection being closed: it cannot be answered, so the app never runs it.
    if (this.#tracker.closing(req.socket)) return void req.socket.destroy();
    if (this.#answerHealth(req, res)) return;
    const { board, metrics } = this.#options;
    const entry = this.#tracker.begin(req, res);
    metrics?.begin();
    if (board) entry.slot = board.begin(req.method ?? '', req.url ?? '');
    this.#count();

    const rejection = checkRequest(req, this.#limits);
    if (rejection) return answerAndClose(res, rejection.status, `${STATUS_CODES[rejection.status]}: ${rejection.reason}\n`);
    if (req.headers['transfer-encoding'] !== undefined) watchStreamedBody(req, res, this.#limits.body);
    const scheme = this.#proxy.apply(req);
    if (scheme === null) return answerAndClose(res, 400, 'Bad Request: the proxy sent conflicting scheme headers\n');
    // An EventSource's request: counted (and limited) as a long-lived connection while it runs.
    if (req.headers.accept?.startsWith('text/event-stream')) {
      if (this.#longLived.full) return this.#refuseEventStream(res);
      this.#longLived.addEventStream(res);
    }
    try {
      const result = this.#options.handler(req, res, scheme);
      if (isThenable(result)) result.then(undefined, (error: unknown) => this.#onAppError(error, req, res));
    } catch (error) {
      this.#onAppError(error, req, res);
    }
  };

  #onDone = (entry: InFlight): void => {
    this.#options.board?.end(entry.slot);
    const { accessLog, metrics } = this.#options;
    const { req, res, startedAt } = entry;
    metrics?.end(req, res, (performance.now() - startedAt) / 1000);
    if (accessLog) accessLog.write({ req, res, startedAt, clientAddress: this.#proxy.clientAddress(req) });
  };

  #count(): void {
    const { maxRequests } = this.#options.settings;
    if (++this.#served === maxRequests) this.#options.onMaxRequests?.();
  }

  #onAppError(error: unknown, req: IncomingMessage, res: ServerResponse): void {
    logAppFailure(this.#options.logger, error, req);
    if (!req.socket.destroyed) answerAndClose(res, 500, 'Internal Server Error\n');
  }

  #refuseEventStream(res: ServerResponse): void {
    this.#options.longLivedMetrics?.refused('limit');
    res.setHeader('retry-after', '1');
    answerAndClose(res, 503, 'Service Unavailable: this worker has max-long-lived connections open\n');
  }

  #refuseUpgrade(socket: Socket, reason: LongLivedRefusal, status: number, headers = ''): void {
    this.#options.longLivedMetrics?.refused(reason);
    rawAnswer(socket, status, headers);
  }

  /**
   * An upgrade request (WebSocket): the same limits and proxy trust as any request, a valid handshake,
   * room under max-long-lived and a worker that is not draining (503 tells the client to reconnect,
   * which reaches another worker), then the app's upgrade handler. From then on the socket is a
   * long-lived connection, not an HTTP one.
   */
  #onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    const startedAt = performance.now();
    const rejection = checkRequest(req, this.#limits);
    if (rejection) return rawAnswer(socket, rejection.status);
    if (this.#tracker.draining) return this.#refuseUpgrade(socket, 'draining', 503, 'Retry-After: 1\r\n');
    const refusal = isWebSocketUpgrade(req) ? handshakeRefusal(req) : undefined;
    if (refusal) {
      this.#options.logger.debug({ url: req.url, reason: refusal.reason }, 'refused a WebSocket handshake');
      return this.#refuseUpgrade(socket, 'handshake', refusal.status, refusal.headers);
    }
    if (this.#longLived.full) return this.#refuseUpgrade(socket, 'limit', 503, 'Retry-After: 1\r\n');
    if (this.#proxy.apply(req) === null) return rawAnswer(socket, 400);
    this.#tracker.release(socket);
    const { accessLog } = this.#options;
    this.#longLived.addUpgrade(req, socket, accessLog && ((status) => this.#logUpgrade(accessLog, req, status, startedAt)));
    try {
      this.#options.upgrade?.(req, socket, head);
    } catch (error) {
      this.#options.logger.error({ err: error, url: req.url }, 'the app failed while handling an upgrade');
      socket.destroy();
    }
  };

  /** An upgrade's access log line, once its connection has closed: the app's status (101) and how long it was open. */
  #logUpgrade(accessLog: AccessLog, req: IncomingMessage, status: number, startedAt: number): void {
    // The access log reads a response; an upgrade has none, only the status the app wrote on the socket.
    const res = new ServerResponse(req);
    res.statusCode = status;
    accessLog.write({ req, res, startedAt, clientAddress: this.#proxy.clientAddress(req) });
  }

  /** A request node's parser refused (or a client too slow): 4xx and close, never a crash or a 5xx. */
  #onClientError = (error: NodeJS.ErrnoException, socket: Socket): void => {
    const code = error.code ?? '';
    this.#options.logger.debug({ code, reason: error.message }, 'refused a malformed request');
    if (code === 'ECONNRESET' || code === 'EPIPE') return void socket.destroy();
    if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return rawAnswer(socket, 408);
    // Bytes after a request that closes the connection (HTTP/1.0, Connection: close): ignored, as they
    // must be; the pending response is still sent, then the connection closes.
    if (code === 'HPE_CLOSED_CONNECTION') return;
    // Past the 64 KiB header block (a request line that long included): 431. Within it, limits are checked per request.
    if (code === 'HPE_HEADER_OVERFLOW') return rawAnswer(socket, 431);
    rawAnswer(socket, 400);
  };

  #createServer(bind: BindAddress): Server {
    const { keepAlive, headerTimeout, requestTimeout, requireHostHeader } = this.#options.settings;
    const server = createServer(
      {
        keepAliveTimeout: keepAlive * 1000,
        headersTimeout: headerTimeout * 1000,
        requestTimeout: requestTimeout * 1000,
        // How often node looks for requests past those timeouts (its default, 30 s, would make them late).
        connectionsCheckingInterval: Math.min(1000, (headerTimeout * 1000) / 2),
        maxHeaderSize: headerBlockSize(this.#limits),
        requireHostHeader,
      },
      this.#onRequest,
    );
    // One more than the limit, so that a request over it is seen (node drops the extra ones silently).
    server.maxHeadersCount = this.#limits.fields + 1;
    // A client that half-closes after pipelining requests still gets their responses (node would abort
    // them); the connection closes after the last one.
    (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    server.on('clientError', this.#onClientError);
    // Only for an app that takes upgrades: with no 'upgrade' listener, node serves such a request as an
    // ordinary one (the app may answer it, or ignore the Upgrade header, as HTTP allows).
    if (this.#options.upgrade) server.on('upgrade', this.#onUpgrade);
    // Expect: 100-continue. node would send 100 Continue at once; a request gantry refuses (a declared
    // body over the limit) gets its 4xx instead, before the client uploads anything.
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      if (checkRequest(req, this.#limits) === undefined) res.writeContinue();
      this.#onRequest(req, res);
    });
    server.on('connection', (socket: Socket) => this.#proxy.classify(socket, bind.kind === 'unix'));
    server.on('connect', (_req: IncomingMessage, socket: Socket) => refuseTunnel(socket));
    this.#tracker.watch(server);
    return server;
  }

  async listen(binds: readonly BindAddress[]): Promise<void> {
    await Promise.all(
      binds.map(async (bind) => {
        const server = this.#createServer(bind);
        this.#servers.push(server);
        await new Promise<void>((resolve, reject) => {
          server.once('error', (error: NodeJS.ErrnoException) => reject(bindError(bind, error)));
          // reusePort: this worker's own socket (exclusive: not through the primary), balanced by the kernel.
          const reuse = this.#options.settings.reusePort && bind.kind === 'tcp' ? { reusePort: true, exclusive: true } : {};
          server.listen({ ...listenOptions(bind), ...reuse }, () => resolve());
        });
      }),
    );
  }

  /**
   * Stops accepting and finishes the requests under way within `timeoutMs`, and the long-lived
   * connections within long-lived-timeout (long-lived.ts).
   */
  async drain(timeoutMs: number): Promise<ServiceDrainResult> {
    const [result, longLived] = await Promise.all([
      this.#tracker.drain(this.#servers, timeoutMs),
      this.#longLived.drain(Math.min(timeoutMs, this.#options.settings.longLivedTimeout * 1000)),
    ]);
    return { ...result, longLivedCut: longLived.cut };
  }

  /** Fast stop: close listeners and every connection now. */
  destroy(): void {
    for (const server of this.#servers) if (server.listening) server.close();
    this.#tracker.destroyAll();
    this.#longLived.destroyAll();
  }
}

function bindError(bind: BindAddress, error: NodeJS.ErrnoException): GantryError {
  const reasons: Record<string, string> = {
    EADDRINUSE: 'the address is already in use (is another server running?)',
    EACCES: 'permission denied (ports below 1024 need privileges)',
    EADDRNOTAVAIL: 'the address is not available on this machine',
    ENOTFOUND: 'the host name does not resolve',
  };
  const reason = reasons[error.code ?? ''] ?? error.message;
  return new GantryError(ErrorCode.BIND, `Cannot listen on ${formatBind(bind)}: ${reason}.`, {
    cause: error,
  });
}
