/**
 * Server-Sent Events on a Fastify reply: the stream's head, events with ids, a comment every 15 s so
 * that proxies and clients see a live connection, and the end when the client goes (or gantry ends the
 * stream as its worker drains: the client reconnects with Last-Event-ID).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

const HEARTBEAT_MS = 15_000;
/** How long a client waits before it reconnects (EventSource's retry field). */
const RETRY_MS = 2000;

export interface EventStream {
  send(event: string, data: unknown, id?: number): void;
  end(): void;
  /** Set when the stream has ended, by either side. */
  readonly closed: AbortSignal;
}

/** The Last-Event-ID the client resumes from, if it is a row id. */
export function lastEventId(request: FastifyRequest): number | undefined {
  const header = request.headers['last-event-id'];
  const id = typeof header === 'string' && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
  return id !== undefined && Number.isSafeInteger(id) ? id : undefined;
}

export function openEventStream(reply: FastifyReply): EventStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    // nginx passes events on as they come (the gantry template does for text/event-stream; this says so to any proxy).
    'x-accel-buffering': 'no',
  });
  res.write(`retry: ${RETRY_MS}\n\n`);
  const closed = new AbortController();
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  res.once('close', () => {
    clearInterval(heartbeat);
    closed.abort();
  });
  return {
    send(event, data, id) {
      if (closed.signal.aborted) return;
      res.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end() {
      if (!res.writableEnded) res.end();
    },
    closed: closed.signal,
  };
}
