/**
 * The exports' controller: POST /api/exports queues one (202 and where to watch it), GET shows its
 * state, GET .../download serves the CSV once it is complete. Errors are problem responses.
 */
import type { FastifyInstance } from 'fastify';
import type { PgBoss } from 'pg-boss';
import { z } from 'zod';
import { parseInput, parseRowId } from '../http/input.js';
import { sendProblem } from '../http/problems.js';
import type { ExportStore } from './exports.js';

const newExport = z.strictObject({ format: z.literal('csv').default('csv') });

export function exportRoutes(store: ExportStore, queue: () => Promise<PgBoss>) {
  return (app: FastifyInstance, _options: unknown, done: () => void): void => {
    app.removeContentTypeParser('text/plain');

    app.post('/api/exports', { bodyLimit: 1024 }, async (request, reply) => {
      parseInput(newExport, request.body ?? {}, 'body');
      const created = await store.create(await queue());
      request.log.info({ exportId: created.id }, 'export queued');
      return reply.code(202).header('location', `/api/exports/${created.id}`).send(created);
    });

    app.get<{ Params: { id: string } }>('/api/exports/:id', async (request, reply) => {
      const id = parseRowId(request.params.id);
      return (await store.get(id)) ?? sendProblem(reply, { status: 404, detail: `No export ${id}.` });
    });

    app.get<{ Params: { id: string } }>('/api/exports/:id/download', async (request, reply) => {
      const id = parseRowId(request.params.id);
      const view = await store.get(id);
      if (!view) return sendProblem(reply, { status: 404, detail: `No export ${id}.` });
      const csv = view.status === 'completed' ? await store.csv(id) : undefined;
      if (csv === undefined) return sendProblem(reply, { status: 409, detail: `Export ${id} is ${view.status}, not completed.` });
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="guestbook-export-${id}.csv"`)
        .send(csv);
    });
    done();
  };
}
