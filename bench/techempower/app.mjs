// The TechEmpower Framework Benchmarks' test types on the example app's stack: Fastify, node-postgres and
// Kysely, the pool made from the example app's own connection options (app/src/db/connection.ts) and its
// queries sent as the example app sends them: named prepared statements (app/src/db/prepared-statements.ts).
// The default export is a factory (one app per worker), as gantry, bare node:cluster and PM2 all serve it:
// gantry calls it; the others through cluster.mjs. DB_CONNECTION_STRING and DB_POOL_MAX (10) from the
// environment; DB_PREPARED_STATEMENTS=false sends node-postgres's unnamed statements instead (the profile compares both).
import Fastify from 'fastify';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { connectionOptions } from '../../app/dist/src/db/connection.js';
import { preparedStatements } from '../../app/dist/src/db/prepared-statements.js';

const WORLDS = 10_000;
const EXTRA_FORTUNE = 'Additional fortune added at request time.';

const randomWorldId = () => 1 + Math.floor(Math.random() * WORLDS);

/** The test types' rule: an integer from 1 to 500; anything else (missing, not a number) is 1 or clamped. */
function queryCount(value) {
  const count = Number.parseInt(String(value ?? ''), 10);
  return Number.isNaN(count) ? 1 : Math.min(Math.max(count, 1), 500);
}

const HTML_ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;' };
const escapeHtml = (text) => text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]);

function fortunesPage(fortunes) {
  const rows = fortunes.map((f) => `<tr><td>${f.id}</td><td>${escapeHtml(f.message)}</td></tr>`).join('');
  return `<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>${rows}</table></body></html>`;
}

export default function buildApp() {
  const pool = new pg.Pool(
    connectionOptions({
      DB_CONNECTION_STRING: process.env.DB_CONNECTION_STRING ?? '',
      DB_PASSWORD: '',
      DB_POOL_MAX: Number(process.env.DB_POOL_MAX ?? 10),
      DB_CONNECT_TIMEOUT_MS: 5000,
      DB_STATEMENT_TIMEOUT_MS: 5000,
    }),
  );
  const prepared = process.env.DB_PREPARED_STATEMENTS !== 'false';
  const db = new Kysely({ dialect: new PostgresDialect({ pool: prepared ? preparedStatements(pool) : pool }) });
  const world = (id) =>
    db.selectFrom('world').select(['id', 'randomnumber as randomNumber']).where('id', '=', id).executeTakeFirstOrThrow();
  const worlds = (count) => Promise.all(Array.from({ length: count }, () => world(randomWorldId())));

  const app = Fastify({ logger: false });
  app.addHook('onClose', () => db.destroy());
  app.get('/json', (_request, reply) => reply.send({ message: 'Hello, World!' }));
  app.get('/plaintext', (_request, reply) => reply.type('text/plain').send('Hello, World!'));
  app.get('/db', () => world(randomWorldId()));
  app.get('/queries', (request) => worlds(queryCount(request.query.queries)));
  app.get('/fortunes', async (_request, reply) => {
    const fortunes = await db.selectFrom('fortune').select(['id', 'message']).execute();
    fortunes.push({ id: 0, message: EXTRA_FORTUNE });
    fortunes.sort((a, b) => (a.message < b.message ? -1 : a.message > b.message ? 1 : 0));
    return reply.type('text/html; charset=utf-8').send(fortunesPage(fortunes));
  });
  app.get('/updates', async (request) => {
    const read = await worlds(queryCount(request.query.queries));
    for (const row of read) row.randomNumber = randomWorldId();
    // One statement for the batch; rows in id order, so concurrent batches lock them in the same order.
    const ordered = [...read].sort((a, b) => a.id - b.id);
    await sql`UPDATE world SET randomnumber = v.r FROM (VALUES ${sql.join(
      ordered.map((row) => sql`(${row.id}::integer, ${row.randomNumber}::integer)`),
    )}) AS v(id, r) WHERE world.id = v.id`.execute(db);
    return read;
  });
  return app;
}
