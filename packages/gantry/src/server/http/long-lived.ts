/**
 * A worker's long-lived connections: upgraded sockets (WebSockets) the app took over, and event streams
 * (requests that accept text/event-stream). They are counted apart from in-flight requests, held to a
 * per-worker limit, dropped when their client stops reading, and drained their own way.
 *
 * A drain cannot wait for them to end by themselves, as it waits for requests: they would hold a reload
 * or a stop for its whole graceful-timeout and then be cut (a WebSocket client sees 1006, no close
 * frame). Instead the app is told first (gantry/app's onDrain), then each one gets its turn at a random
 * moment within the first 40% of long-lived-timeout, so that clients reconnect spread out rather than all
 * at once: a WebSocket the app has not closed itself gets a close frame 1001 "going away" (the app's
 * WebSocket library answers the client's reply and closes the socket); an event stream is ended (its
 * client reconnects, with Last-Event-ID); another upgraded protocol is ended. Whatever is still open at
 * long-lived-timeout is cut.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { appHooks } from '../../app-hooks.js';
import type { Logger } from '../../logger.js';
import { lingeringClose } from './connections.js';
import type { LongLivedDrop, LongLivedKind, LongLivedMetrics } from './metrics.js';
import { CloseCode, closeFrame, isWebSocketUpgrade, watchAnswer, watchForClose } from './websocket.js';

const SWEEP_INTERVAL_MS = 1000;
/** The share of long-lived-timeout over which connections get their turn to close. */
const SPREAD = 0.4;

interface LongLived {
  readonly socket: Socket;
  /** An event stream's response; none for an upgraded socket. */
  readonly res?: ServerResponse;
  /** Undefined for an upgrade the app has not answered yet (it is not counted until it switches). */
  kind: LongLivedKind | undefined;
  /** Set once the app or gantry has begun to close it. */
  closing: boolean;
}

export interface LongLivedOptions {
  /** Most open at once (0: no limit). */
  readonly limit: number;
  /** Most unsent bytes before a connection is dropped (0: no limit). */
  readonly sendBufferLimit: number;
  readonly logger: Logger;
  readonly metrics?: LongLivedMetrics | undefined;
}

export interface LongLivedDrainResult {
  /** Still open at the deadline, and cut. */
  readonly cut: number;
}

/** Whether a response that has sent its head is an event stream. */
function isEventStream(res: ServerResponse): boolean {
  const type = res.getHeader('content-type');
  if (typeof type === 'string') return type.toLowerCase().startsWith('text/event-stream');
  // writeHead(status, headers) sends headers it never stores: read the head it wrote.
  return /\r\ncontent-type: *text\/event-stream/i.test((res as { _header?: string | null })._header ?? '');
}

export class LongLivedConnections {
  readonly #options: LongLivedOptions;
  readonly #open = new Set<LongLived>();
  #sweeper: NodeJS.Timeout | undefined;
  /** While draining: Date.now() when the turns end, and the drain's wake-up once none is left. */
  #drain: { turnsEnd: number; whenEmpty: PromiseWithResolvers<void> } | undefined;

  constructor(options: LongLivedOptions) {
    this.#options = options;
  }

  /** Whether a new one would pass the limit. */
  get full(): boolean {
    const { limit } = this.#options;
    return limit > 0 && this.#open.size >= limit;
  }

  /**
   * An upgrade the app takes over. `onClosed(status)` is called once its socket closes, with the status
   * the app answered (101 when it switched protocols; 0 when it wrote nothing).
   */
  addUpgrade(req: IncomingMessage, socket: Socket, onClosed?: (status: number) => void): void {
    const entry: LongLived = { socket, kind: undefined, closing: false };
    let status = 0;
    watchAnswer(socket, (answered) => {
      status = answered;
      if (answered !== 101) return;
      entry.kind = isWebSocketUpgrade(req) ? 'websocket' : 'upgrade';
      this.#options.metrics?.opened(entry.kind);
    });
    this.#add(entry);
    socket.once('close', () => {
      this.#remove(entry);
      onClosed?.(status);
    });
  }

  /** A request that accepts text/event-stream, counted until its response closes. */
  addEventStream(res: ServerResponse): void {
    const entry: LongLived = { socket: res.socket!, res, kind: 'event_stream', closing: false };
    this.#options.metrics?.opened('event_stream');
    this.#add(entry);
    res.once('close', () => this.#remove(entry));
  }

  #add(entry: LongLived): void {
    this.#open.add(entry);
    const { sendBufferLimit } = this.#options;
    if (sendBufferLimit > 0 && this.#sweeper === undefined) {
      this.#sweeper = setInterval(() => this.#dropSlowReaders(sendBufferLimit), SWEEP_INTERVAL_MS).unref();
    }
    // One that arrives while draining (an event stream on a kept-alive connection) gets a turn too.
    if (this.#drain) this.#scheduleTurn(entry, this.#drain.turnsEnd - Date.now());
  }

  #remove(entry: LongLived): void {
    if (!this.#open.delete(entry)) return;
    if (entry.kind !== undefined) this.#options.metrics?.closed(entry.kind);
    if (this.#open.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
      this.#drain?.whenEmpty.resolve();
    }
  }

  #drop(entry: LongLived, reason: LongLivedDrop): void {
    this.#options.metrics?.dropped(reason);
    entry.socket.destroy();
  }

  #dropSlowReaders(limit: number): void {
    for (const entry of this.#open) {
      const unsent = entry.socket.writableLength + (entry.res?.writableLength ?? 0);
      if (unsent <= limit) continue;
      this.#options.logger.warn(
        { unsent, limit, kind: entry.kind ?? 'upgrade' },
        'dropped a long-lived connection whose client stopped reading (max-send-buffer)',
      );
      this.#drop(entry, 'slow_reader');
    }
  }

  /** Tells the app, gives each connection its turn to close, and cuts what remains after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<LongLivedDrainResult> {
    const deadline = Date.now() + timeoutMs;
    const whenEmpty = Promise.withResolvers<void>();
    this.#drain = { turnsEnd: Date.now() + timeoutMs * SPREAD, whenEmpty };
    if (this.#open.size === 0) whenEmpty.resolve();
    // Watched before the app is told, so that a close the app sends at once is seen.
    for (const entry of this.#open) {
      if (entry.kind === 'websocket') watchForClose(entry.socket, () => (entry.closing = true));
    }
    this.#notifyApp(deadline);
    for (const entry of this.#open) this.#scheduleTurn(entry, timeoutMs * SPREAD);
    const timer = setTimeout(() => whenEmpty.resolve(), timeoutMs);
    await whenEmpty.promise;
    clearTimeout(timer);
    let cut = 0;
    for (const entry of this.#open) {
      // A request that accepts event streams but is not streaming one is an ordinary request: it has graceful-timeout.
      if (entry.res && !(entry.res.headersSent && isEventStream(entry.res))) continue;
      cut++;
      this.#drop(entry, 'deadline');
    }
    return { cut };
  }

  #notifyApp(longLivedDeadline: number): void {
    for (const listener of appHooks().drainListeners) {
      try {
        listener({ longLivedDeadline });
      } catch (error) {
        this.#options.logger.error({ err: error }, "the app's drain listener (onDrain) failed");
      }
    }
  }

  #scheduleTurn(entry: LongLived, withinMs: number): void {
    setTimeout(() => this.#takeTurn(entry), Math.random() * Math.max(0, withinMs)).unref();
  }

  /** Its turn to close: a close frame, the end of its stream, or the end of its socket. */
  #takeTurn(entry: LongLived): void {
    const { socket, res } = entry;
    if (entry.closing || socket.destroyed || !this.#open.has(entry)) return;
    if (res) {
      // Not yet answered or no event stream: an ordinary request, drained as one.
      if (!res.headersSent || !isEventStream(res) || res.writableEnded) return;
      entry.closing = true;
      // The app may still write to it; that must fail quietly, not crash the worker.
      res.on('error', () => {});
      res.once('finish', () => lingeringClose(socket));
      res.end();
      return;
    }
    if (entry.kind === undefined) return;
    entry.closing = true;
    if (entry.kind === 'websocket') socket.write(closeFrame(CloseCode.GOING_AWAY, 'going away'));
    else socket.end();
  }

  /** Fast stop: every one goes now. */
  destroyAll(): void {
    for (const { socket } of this.#open) socket.destroy();
  }
}
