/**
 * Tracks a worker's connections and in-flight requests, and drains them without losing a request.
 *
 * node's `server.close()` destroys every connection that sits between two requests, even when the
 * client's next request is already on the wire: under keep-alive load that loses requests (PM2 and
 * gunicorn both do, see anchors/). A drain here instead:
 * 1. stops accepting (the listening socket closes; node:cluster hands new connections to other workers);
 * 2. answers every request that has not started its response with `Connection: close`, so each busy
 *    connection ends cleanly after its next response;
 * 3. closes a connection only after it has been idle (no request running, no byte received) for
 *    IDLE_GRACE_MS, long enough for a client reusing it to have sent its next request;
 * 4. resolves once no connection is left, or destroys the rest at the deadline.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

const IDLE_GRACE_MS = 1000;
const SWEEP_INTERVAL_MS = 100;

interface ConnectionState {
  active: number;
  idleSince: number;
  bytesReadWhenIdle: number;
}

const stateSymbol = Symbol('gantry.connection');
type TrackedSocket = Socket & { [stateSymbol]: ConnectionState };

export interface InFlight {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** performance.now() when the request started. */
  readonly startedAt: number;
  /** Its slot on the in-flight board, or -1. */
  slot: number;
}

export interface DrainResult {
  /** Connections still open at the deadline, destroyed with whatever they were doing. */
  readonly destroyed: number;
  /** Requests still running at the deadline. */
  readonly interrupted: readonly InFlight[];
}

export class ConnectionTracker {
  readonly #connections = new Set<TrackedSocket>();
  readonly #inFlight = new Map<ServerResponse, InFlight>();
  #draining = false;

  get draining(): boolean {
    return this.#draining;
  }

  /** Requests being served now, oldest first. */
  inFlight(): InFlight[] {
    return [...this.#inFlight.values()];
  }

  watch(server: Server): void {
    server.on('connection', (socket: Socket) => this.#onConnection(socket as TrackedSocket));
  }

  #onConnection(socket: TrackedSocket): void {
    socket[stateSymbol] = { active: 0, idleSince: Date.now(), bytesReadWhenIdle: 0 };
    this.#connections.add(socket);
    socket.once('close', () => this.#connections.delete(socket));
  }

  /** Call at the start of each request, and `end` once its response is complete or abandoned. */
  begin(req: IncomingMessage, res: ServerResponse): InFlight {
    const state = (req.socket as TrackedSocket)[stateSymbol];
    const entry: InFlight = { req, res, startedAt: performance.now(), slot: -1 };
    this.#inFlight.set(res, entry);
    if (state) state.active++;
    if (this.#draining) res.setHeader('connection', 'close');
    return entry;
  }

  /** Returns the request's entry, or undefined if it had ended already. */
  end(res: ServerResponse): InFlight | undefined {
    const entry = this.#inFlight.get(res);
    if (!entry) return undefined;
    this.#inFlight.delete(res);
    const socket = entry.req.socket as TrackedSocket;
    const state = socket[stateSymbol];
    if (state && --state.active === 0) {
      state.idleSince = Date.now();
      state.bytesReadWhenIdle = socket.bytesRead;
    }
    return entry;
  }

  #isIdle(socket: TrackedSocket, now: number): boolean {
    const state = socket[stateSymbol];
    if (state.active > 0) return false;
    if (socket.bytesRead !== state.bytesReadWhenIdle) {
      // Bytes of a next request arrived: it is not idle; restart its clock in case they stop coming.
      state.bytesReadWhenIdle = socket.bytesRead;
      state.idleSince = now;
      return false;
    }
    return now - state.idleSince >= IDLE_GRACE_MS;
  }

  /** Stops accepting and resolves once every connection has ended, or at the deadline. */
  async drain(servers: readonly Server[], timeoutMs: number): Promise<DrainResult> {
    this.#draining = true;
    // net.Server's close, not http.Server's: the latter would also close idle keep-alive connections now.
    for (const server of servers) if (server.listening) NetServer.prototype.close.call(server);
    for (const { res } of this.#inFlight.values()) if (!res.headersSent) res.setHeader('connection', 'close');

    const deadline = Date.now() + timeoutMs;
    while (this.#connections.size > 0 && Date.now() < deadline) {
      const now = Date.now();
      for (const socket of this.#connections) if (this.#isIdle(socket, now)) socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, Math.min(SWEEP_INTERVAL_MS, Math.max(1, deadline - now))));
    }
    const interrupted = this.inFlight();
    const destroyed = this.#connections.size;
    this.destroyAll();
    return { destroyed, interrupted };
  }

  /** Fast stop: every connection goes now. */
  destroyAll(): void {
    for (const socket of this.#connections) socket.destroy();
  }
}
