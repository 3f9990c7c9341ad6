/**
 * A worker's HTTP side: one node:http server per bind address, all feeding one request pipeline
 * (proxy trust, in-flight tracking, error containment, access log), with a lossless drain.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { ErrorCode, ExitCode, GantryError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AccessLog } from './access-log.js';
import type { RequestHandler } from './app.js';
import { type BindAddress, formatBind, listenOptions } from './bind.js';
import { ConnectionTracker, type DrainResult } from './connections.js';
import { ProxyTrust } from './proxy.js';
import type { ServerSettings } from './settings.js';

export interface HttpServiceOptions {
  readonly settings: ServerSettings;
  readonly handler: RequestHandler;
  readonly logger: Logger;
  readonly accessLog?: AccessLog | undefined;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function answer(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  res.end(text);
}

export class HttpService {
  readonly #options: HttpServiceOptions;
  readonly #proxy: ProxyTrust;
  readonly #tracker = new ConnectionTracker();
  readonly #servers: Server[] = [];

  constructor(options: HttpServiceOptions) {
    this.#options = options;
    this.#proxy = new ProxyTrust(options.settings.forwardedAllowIps, options.settings.secureSchemeHeaders);
  }

  get tracker(): ConnectionTracker {
    return this.#tracker;
  }

  #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const { accessLog, handler } = this.#options;
    this.#tracker.begin(
      req,
      res,
      accessLog &&
        ((entry) => accessLog.write({ req, res, startedAt: entry.startedAt, clientAddress: this.#proxy.clientAddress(req) })),
    );
    const scheme = this.#proxy.apply(req);
    if (scheme === null) {
      answer(res, 400, 'Bad Request: the proxy sent conflicting scheme headers\n');
      return;
    }
    try {
      const result = handler(req, res, scheme);
      if (isThenable(result)) result.then(undefined, (error: unknown) => this.#onAppError(error, req, res));
    } catch (error) {
      this.#onAppError(error, req, res);
    }
  };

  #onAppError(error: unknown, req: IncomingMessage, res: ServerResponse): void {
    this.#options.logger.error({ err: error, method: req.method, url: req.url }, 'the app threw while handling a request');
    answer(res, 500, 'Internal Server Error\n');
  }

  #createServer(): Server {
    const { keepAlive } = this.#options.settings;
    const server = createServer({ keepAliveTimeout: keepAlive * 1000 }, this.#onRequest);
    // A request's headers must arrive within this, and nginx's proxy timeouts are 60 s: keep them apart
    // from the keep-alive timeout, which only measures idle time between requests.
    server.headersTimeout = 60_000;
    this.#tracker.watch(server);
    return server;
  }

  async listen(binds: readonly BindAddress[]): Promise<void> {
    await Promise.all(
      binds.map(async (bind) => {
        const server = this.#createServer();
        this.#servers.push(server);
        await new Promise<void>((resolve, reject) => {
          server.once('error', (error: NodeJS.ErrnoException) => reject(bindError(bind, error)));
          server.listen(listenOptions(bind), () => resolve());
        });
      }),
    );
  }

  drain(timeoutMs: number): Promise<DrainResult> {
    return this.#tracker.drain(this.#servers, timeoutMs);
  }

  /** Fast stop: close listeners and every connection now. */
  destroy(): void {
    for (const server of this.#servers) if (server.listening) server.close();
    this.#tracker.destroyAll();
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
    exitCode: ExitCode.FAILURE,
    cause: error,
  });
}
