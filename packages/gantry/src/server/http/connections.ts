/**
 * Tracks a worker's connections and in-flight requests, closes connections without losing a response,
 * and drains them without losing a request.
 *
 * Closing: every connection gantry closes (after a `Connection: close` answer, a refusal, or idle in a
 * drain) is closed the way nginx's lingering_close does it: FIN once the answer is out, then whatever
 * the client still sends is read and discarded until it closes its side, goes quiet, or the linger runs
 * out. A socket closed with unread input makes the kernel send a reset, and a reset makes the client's
 * TCP throw away the answer it has not read yet: a 413 for an upload in progress, or the answer nginx was
 * about to read when a POST's body was still arriving.
 *
 * node's `server.close()` destroys every connection that sits between two requests, even when the
 * client's next request is already on the wire: under keep-alive load that loses requests (PM2 and
 * gunicorn both do, see anchors/). A drain here instead:
 * 1. stops accepting (the listening socket closes; node:cluster hands new connections to other workers);
 * 2. answers every request that has not started its response with `Connection: close`, so each busy
 *    connection ends cleanly after its next response;
 * 3. closes a connection only once it has been idle (no request running, no byte received) for the
 *    drain-idle timeout. That timeout is longer than the proxy's own idle timeout for its pooled upstream
 *    connections (nginx's upstream keepalive_timeout), so a pooled connection the proxy might still pick
 *    for its next request is closed by the proxy, never under it by gantry;
 * 4. resolves once no connection is left, or destroys the rest at the deadline.
 * A request that arrives on a connection gantry has already closed its side of (it crossed the FIN) is
 * never handed to the app: it could not be answered, and the client will see it failed.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

const SWEEP_INTERVAL_MS = 100;
/** A closing connection is read for at most this long without input, and this long in all. */
const LINGER_QUIET_MS = 2000;
const LINGER_MAX_MS = 10_000;

/**
 * A connection's requests live on the connection itself, not in a map of every request: a request costs
 * an entry in a short array (more than one only when the client pipelines), and no listener of its own.
 */
interface ConnectionState {
  /** Its requests being served, oldest first. */
  readonly requests: InFlight[];
  readonly onEnd: (entry: InFlight) => void;
  idleSince: number;
  bytesReadWhenIdle: number;
}

const stateSymbol = Symbol('gantry.connection');
type TrackedSocket = Socket & { [stateSymbol]: ConnectionState };

/** Ends the request that `res` answers on `socket`, if it is a tracked one still running. */
function endRequest(socket: TrackedSocket, res: ServerResponse): void {
  const state = socket[stateSymbol] as ConnectionState | undefined;
  if (!state) return;
  const { requests } = state;
  // Responses go out in their requests' order: it is the first entry unless one before it was abandoned.
  let index = 0;
  while (index < requests.length && requests[index]?.res !== res) index++;
  const entry = requests[index];
  if (!entry) return;
  if (index === 0) requests.shift();
  else requests.splice(index, 1);
  if (requests.length === 0) {
    state.idleSince = Date.now();
    state.bytesReadWhenIdle = socket.bytesRead;
  }
  state.onEnd(entry);
}

// Node publishes every response it has finished writing here: one subscriber for all trackers, and no
// 'close' listener added to each response. A response that never finishes ends with its connection.
subscribe('http.server.response.finish', (message) => {
  const { socket, response } = message as { socket: TrackedSocket; response: ServerResponse };
  endRequest(socket, response);
});

/**
 * Half-closes `socket` (FIN once pending writes are out), discards what the client still sends, and
 * destroys it when the client closes its side, goes quiet for LINGER_QUIET_MS, or LINGER_MAX_MS have
 * passed. Calling it again, or on a destroyed socket, does nothing more.
 */
export function lingeringClose(socket: Socket): void {
  if (socket.destroyed || !socket.writable) return;
  socket.end();
  // The http parser (when still attached) reads and drops what comes; resume covers a paused socket.
  socket.resume();
  let quiet = setTimeout(() => socket.destroy(), LINGER_QUIET_MS);
  const limit = setTimeout(() => socket.destroy(), LINGER_MAX_MS);
  const onData = () => {
    clearTimeout(quiet);
    quiet = setTimeout(() => socket.destroy(), LINGER_QUIET_MS);
  };
  socket.on('data', onData);
  socket.once('end', () => socket.destroy());
  socket.once('close', () => {
    clearTimeout(quiet);
    clearTimeout(limit);
    socket.off('data', onData);
  });
}

/**
 * Makes the next destroy() of `socket` a lingering close: node destroys a request's socket when the
 * request is destroyed, and a refused body must fail the app's read while its 4xx still reaches the client.
 */
export function lingerOnNextDestroy(socket: Socket): void {
  // The instance property shadows the prototype's destroy() once; deleting it restores that.
  socket.destroy = function (this: Socket) {
    delete (socket as Partial<Pick<Socket, 'destroy'>>).destroy;
    lingeringClose(socket);
    return this;
  };
}

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
  readonly #drainIdleMs: number;
  readonly #onEnd: (entry: InFlight) => void;
  #draining = false;

  /**
   * `drainIdleMs`: how long a connection must be idle before a drain closes it; `onEnd`: called once for
   * each request begun, when its response has been written or abandoned (its connection closed first).
   */
  constructor(drainIdleMs: number, onEnd: (entry: InFlight) => void) {
    this.#drainIdleMs = drainIdleMs;
    this.#onEnd = onEnd;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Requests being served now, oldest first. */
  inFlight(): InFlight[] {
    return [...this.#connections].flatMap((socket) => socket[stateSymbol].requests).sort((a, b) => a.startedAt - b.startedAt);
  }

  watch(server: Server): void {
    server.on('connection', (socket: Socket) => this.#onConnection(socket as TrackedSocket));
  }

  #onConnection(socket: TrackedSocket): void {
    const state: ConnectionState = { requests: [], onEnd: this.#onEnd, idleSince: Date.now(), bytesReadWhenIdle: 0 };
    socket[stateSymbol] = state;
    // node ends a connection after a `Connection: close` answer with destroySoon(), which closes the
    // socket once the answer is written, unread input or not: linger instead.
    socket.destroySoon = () => lingeringClose(socket);
    this.#connections.add(socket);
    socket.once('close', () => {
      this.#connections.delete(socket);
      // Requests whose responses were never written: the client went away, or the app destroyed the socket.
      for (const entry of state.requests.splice(0)) state.onEnd(entry);
    });
  }

  /**
   * Stops tracking an upgraded connection (a WebSocket): it is no HTTP connection any more, and the long-lived
   * connections' drain (long-lived.ts) closes it, never the idle sweep here.
   */
  release(socket: Socket): void {
    this.#connections.delete(socket as TrackedSocket);
  }

  /** Whether gantry has closed its side of the connection: a request arriving on it cannot be answered. */
  closing(socket: Socket): boolean {
    return !socket.writable;
  }

  /** Call at the start of each request: it ends (`onEnd`) once its response is written or abandoned. */
  begin(req: IncomingMessage, res: ServerResponse): InFlight {
    const entry: InFlight = { req, res, startedAt: performance.now(), slot: -1 };
    (req.socket as TrackedSocket)[stateSymbol].requests.push(entry);
    if (this.#draining) res.setHeader('connection', 'close');
    return entry;
  }

  #isIdle(socket: TrackedSocket, now: number): boolean {
    const state = socket[stateSymbol];
    if (state.requests.length > 0) return false;
    if (socket.bytesRead !== state.bytesReadWhenIdle) {
      // Bytes of a next request arrived: it is not idle; restart its clock in case they stop coming.
      state.bytesReadWhenIdle = socket.bytesRead;
      state.idleSince = now;
      return false;
    }
    return now - state.idleSince >= this.#drainIdleMs;
  }

  /** Stops accepting and resolves once every connection has ended, or at the deadline. */
  async drain(servers: readonly Server[], timeoutMs: number): Promise<DrainResult> {
    this.#draining = true;
    // net.Server's close, not http.Server's: the latter would also close idle keep-alive connections now.
    for (const server of servers) if (server.listening) NetServer.prototype.close.call(server);
    for (const { res } of this.inFlight()) if (!res.headersSent) res.setHeader('connection', 'close');

    const deadline = Date.now() + timeoutMs;
    while (this.#connections.size > 0 && Date.now() < deadline) {
      const now = Date.now();
      for (const socket of this.#connections) if (this.#isIdle(socket, now)) lingeringClose(socket);
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
