/**
 * The guestbook's controller: the JSON API (/api/messages) and the page (/guestbook). Input is
 * validated before anything is written; errors are problem responses (http/problems.ts), but the page
 * answers in HTML.
 */
import formBody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { DatabaseUnavailable } from '../db/connection.js';
import { parseRowId } from '../http/input.js';
import { DATABASE_RETRY_AFTER_S, InvalidInput, sendProblem } from '../http/problems.js';
import type { MessageStore } from './messages.js';
import { guestbookPage } from './page.js';
import { parseListQuery, parseNewMessage } from './validation.js';

/** A message is at most ~8 KB of UTF-8; anything much larger is no message. */
const MESSAGE_BODY_LIMIT = 16 * 1024;
const PAGE_SIZE = 50;

function sendPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  // The page changes with every message, and names the current release's assets: never cached (they are).
  return reply.code(status).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(html);
}

/** `assets`: the page's frontend tags (gantry/assets), made once at boot. */
export function guestbookRoutes(store: MessageStore, assets: string) {
  return async (app: FastifyInstance): Promise<void> => {
    // The API takes JSON only: without Fastify's text/plain parser, anything else is 415.
    app.removeContentTypeParser('text/plain');
    app.post('/api/messages', { bodyLimit: MESSAGE_BODY_LIMIT }, async (request, reply) => {
      const message = await store.add(parseNewMessage(request.body));
      request.log.debug({ id: message.id }, 'message added');
      return reply.code(201).header('location', `/api/messages/${message.id}`).send(message);
    });

    app.get('/api/messages', async (request, reply) => {
      const query = parseListQuery(request.query);
      const messages = await store.list(query);
      const last = messages.at(-1);
      const next = messages.length === query.limit && last ? `/api/messages?limit=${query.limit}&before=${last.id}` : null;
      if (next) reply.header('link', `<${next}>; rel="next"`);
      return { messages, next };
    });

    app.get<{ Params: { id: string } }>('/api/messages/:id', async (request, reply) => {
      const id = parseRowId(request.params.id);
      const message = await store.get(id);
      return message ?? sendProblem(reply, { status: 404, detail: `No message ${id}.` });
    });

    // The page: its form posts application/x-www-form-urlencoded, parsed in this scope only.
    await app.register(async (page) => {
      await page.register(formBody, { bodyLimit: MESSAGE_BODY_LIMIT });

      const render = async (
        reply: FastifyReply,
        status: number,
        state: Omit<Parameters<typeof guestbookPage>[0], 'messages' | 'assets'>,
      ) => {
        try {
          return sendPage(reply, status, guestbookPage({ ...state, assets, messages: await store.list({ limit: PAGE_SIZE }) }));
        } catch (error) {
          if (!(error instanceof DatabaseUnavailable)) throw error;
          reply.header('retry-after', String(DATABASE_RETRY_AFTER_S));
          const unavailable = `${state.unavailable ?? 'The guestbook is unavailable right now'}; try again shortly.`;
          return sendPage(reply, 503, guestbookPage({ ...state, assets, messages: [], unavailable }));
        }
      };

      page.get('/guestbook', (_request, reply) => render(reply, 200, {}));

      page.post<{ Body: Record<string, unknown> }>('/guestbook', async (request, reply) => {
        const field = (name: string) => (typeof request.body?.[name] === 'string' ? request.body[name] : '');
        const draft = { author: field('author'), body: field('body') };
        try {
          await store.add(parseNewMessage(draft));
        } catch (error) {
          if (error instanceof InvalidInput) return render(reply, 400, { draft, errors: error.errors });
          if (error instanceof DatabaseUnavailable) {
            reply.header('retry-after', String(DATABASE_RETRY_AFTER_S));
            return render(reply, 503, {
              draft,
              unavailable: 'Your message was not saved: the guestbook is unavailable right now',
            });
          }
          throw error;
        }
        // Post/redirect/get: a reload of the page does not post again.
        return reply.code(303).header('location', '/guestbook').send();
      });
    });
  };
}
