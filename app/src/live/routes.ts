/**
 * Live updates: new messages over a WebSocket (/ws) and as an event stream (/api/messages/stream, which
 * resumes from Last-Event-ID), and an export's progress as an event stream until it is done
 * (/api/exports/:id/events). Messages reach every worker and replica through the database's
 * notifications (feeds.ts); gantry closes these connections gracefully when a worker drains.
 */
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { ExportStore, ExportView } from '../exports/exports.js';
import type { Message, MessageStore } from '../guestbook/messages.js';
import { parseRowId } from '../http/input.js';
import { sendProblem } from '../http/problems.js';
import { lastEventId, openEventStream } from './event-stream.js';
import type { ExportFeed, MessageFeed } from './feeds.js';

/** A client's WebSocket messages are not read (the feed is one-way); anything larger is refused with 1009. */
export const WEBSOCKET_MAX_PAYLOAD = 4096;
const PING_MS = 30_000;
const RESUME_PAGE = 100;

export interface LiveRoutesOptions {
  readonly messages: MessageStore;
  readonly exports: ExportStore;
  readonly messageFeed: MessageFeed;
  readonly exportFeed: ExportFeed;
  /** Which of the server's workers this is (gantry's workerId), in a WebSocket's welcome with the host (a container, when scaled out). */
  readonly workerId: number;
}

export function liveRoutes({ messages, exports, messageFeed, exportFeed, workerId }: LiveRoutesOptions) {
  return (app: FastifyInstance, _options: unknown, done: () => void): void => {
    app.get('/ws', { websocket: true }, (socket) => {
      socket.send(JSON.stringify({ type: 'welcome', worker: workerId, server: hostname() }));
      const unsubscribe = messageFeed.subscribe((message) => socket.send(JSON.stringify({ type: 'message', message })));
      // A client that vanished without a close (a dropped network) answers no ping: it is let go.
      let alive = true;
      socket.on('pong', () => (alive = true));
      const ping = setInterval(() => {
        if (!alive) return socket.terminate();
        alive = false;
        socket.ping();
      }, PING_MS);
      socket.on('close', () => {
        clearInterval(ping);
        unsubscribe();
      });
    });

    app.get('/api/messages/stream', async (request, reply) => {
      const after = lastEventId(request);
      const stream = openEventStream(reply);
      // Live messages wait while the missed ones are sent, so that ids only go up.
      let sent = after ?? 0;
      let pending: Message[] | undefined = after === undefined ? undefined : [];
      const send = (message: Message) => {
        if (message.id <= sent) return;
        sent = message.id;
        stream.send('message', message, message.id);
      };
      const unsubscribe = messageFeed.subscribe((message) => (pending ? pending.push(message) : send(message)));
      stream.closed.addEventListener('abort', unsubscribe);
      if (after === undefined) return;
      try {
        for (;;) {
          const missed = await messages.listAfter(sent, RESUME_PAGE);
          missed.forEach(send);
          if (missed.length < RESUME_PAGE || stream.closed.aborted) break;
        }
      } catch (error) {
        request.log.warn({ err: (error as Error).message }, 'could not resume an event stream');
        return stream.end(); // the client reconnects from the same id
      }
      const live = pending ?? [];
      pending = undefined;
      live.forEach(send);
    });

    app.get<{ Params: { id: string } }>('/api/exports/:id/events', async (request, reply) => {
      const id = parseRowId(request.params.id);
      const first = await exports.get(id);
      if (!first) return sendProblem(reply, { status: 404, detail: `No export ${id}.` });
      const stream = openEventStream(reply);
      const show = (view: ExportView) => {
        stream.send('export', view);
        if (view.status === 'completed' || view.status === 'failed') stream.end();
      };
      const unwatch = exportFeed.watch(id, show);
      stream.closed.addEventListener('abort', unwatch);
      // Watched before reading again: a change between the first read and the watch is not missed.
      show((await exports.get(id)) ?? first);
    });
    done();
  };
}
