/**
 * The example app's queries as named prepared statements, on a real PostgreSQL: each distinct query is
 * prepared once per connection and reused; a migration that changes a table's columns under a prepared
 * `SELECT *` (a rolling deploy) costs no failed query outside a transaction and replaces the connection;
 * the number of names stays bounded.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { preparedStatements } from '../../src/db/prepared-statements.js';
import { type TestPostgres, startTestPostgres } from '../../../test/support/postgres.js';

interface Tables {
  notes: { id: number; body: string; extra?: string };
}

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(() => postgres?.destroy());

let open: Kysely<Tables>[] = [];
afterEach(async () => {
  await Promise.all(open.map((db) => db.destroy()));
  open = [];
});

/** A database with a notes table, and Kysely over a pool of one connection sending named statements. */
async function database(maxNamed?: number): Promise<{ db: Kysely<Tables>; url: string }> {
  const url = await postgres.freshDatabase();
  await postgres.query(
    "CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL); INSERT INTO notes VALUES (1, 'one')",
    [],
    url,
  );
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool: preparedStatements(pool, maxNamed) }) });
  open.push(db);
  return { db, url };
}

const preparedOnConnection = (db: Kysely<Tables>) =>
  sql<{ statement: string }>`SELECT statement FROM pg_prepared_statements`
    .execute(db)
    .then((result) => result.rows.map((row) => row.statement));
const backendPid = (db: Kysely<Tables>) =>
  sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db).then((r) => r.rows[0]?.pid);

describe('named prepared statements', () => {
  it('prepares each distinct query once per connection and reuses it', async () => {
    const { db } = await database();
    for (const id of [1, 2, 3]) await db.selectFrom('notes').select('body').where('id', '=', id).execute();
    const prepared = await preparedOnConnection(db);
    expect(prepared.filter((statement) => statement.includes('from "notes"'))).toEqual([
      'select "body" from "notes" where "id" = $1',
    ]);
    expect(await db.selectFrom('notes').select('body').where('id', '=', 1).executeTakeFirst()).toEqual({ body: 'one' });
  });

  it('answers a prepared SELECT * after a migration added a column, and replaces the connection', async () => {
    const { db, url } = await database();
    const selectAll = () => db.selectFrom('notes').selectAll().where('id', '=', 1).executeTakeFirst();
    expect(await selectAll()).toEqual({ id: 1, body: 'one' });
    const before = await backendPid(db);
    await postgres.query("ALTER TABLE notes ADD COLUMN extra text NOT NULL DEFAULT 'x'", [], url);
    expect(await selectAll()).toEqual({ id: 1, body: 'one', extra: 'x' });
    expect(await backendPid(db)).not.toBe(before);
    expect(await selectAll()).toEqual({ id: 1, body: 'one', extra: 'x' });
  });

  it('fails such a query inside a transaction (it is aborted) and the next one works', async () => {
    const { db, url } = await database();
    const selectAll = (on: Kysely<Tables>) => on.selectFrom('notes').selectAll().where('id', '=', 1).executeTakeFirst();
    await selectAll(db);
    await postgres.query('ALTER TABLE notes ADD COLUMN extra text', [], url);
    await expect(db.transaction().execute((trx) => selectAll(trx))).rejects.toThrow(/cached plan must not change result type/);
    expect(await selectAll(db)).toEqual({ id: 1, body: 'one', extra: null });
  });

  it('names at most maxNamed distinct queries; the rest run unnamed', async () => {
    const { db } = await database(3);
    for (let columns = 1; columns <= 6; columns++) {
      const ids = Array.from({ length: columns }, (_, i) => i + 1);
      expect(await db.selectFrom('notes').select('body').where('id', 'in', ids).execute()).toEqual([{ body: 'one' }]);
    }
    // The three names: the first three IN lists (the pg_prepared_statements query itself is the 7th text).
    expect((await preparedOnConnection(db)).length).toBe(3);
  });
});
