/**
 * Kysely's queries as named prepared statements: each distinct SQL text gets a name, so a connection
 * has PostgreSQL parse, analyse and plan it once and then only binds and executes it (node-postgres
 * remembers per connection what it prepared). node-postgres's default, an unnamed statement, is parsed
 * and planned on every call: on the TechEmpower tests that is over 40 % of PostgreSQL's CPU per query and
 * 1.2-1.3x of the throughput (bench/results/profile.md).
 *
 * Two things a prepared statement changes, handled here:
 * - a migration that changes a table's columns (a rolling deploy's expand step) makes PostgreSQL refuse
 *   a prepared `SELECT *` or `RETURNING *` ("cached plan must not change result type"): the query is run
 *   again unnamed when no transaction is open, and the connection, whose statements are stale, is closed
 *   when it returns to the pool;
 * - each name is held by every connection for its life: distinct texts past MAX_NAMED (SQL built with a
 *   varying number of values, say) run unnamed, so the server's memory stays bounded.
 * Behind PgBouncer in transaction mode this needs PgBouncer 1.21+ with max_prepared_statements set, or
 * DB_PREPARED_STATEMENTS=false (docs/kubernetes.md).
 */
import { createHash } from 'node:crypto';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

/** Distinct statements named per process (and so at most this many held by each connection). */
export const MAX_NAMED = 500;

/** PostgreSQL's feature_not_supported, as it answers a prepared statement whose result columns changed. */
const RESULT_TYPE_CHANGED = (error: unknown) =>
  (error as { code?: unknown }).code === '0A000' && /cached plan must not change result type/.test((error as Error).message);

/** A Kysely PostgresPool over `pool` whose clients send every query (of the first maxNamed texts) as a named statement. */
export function preparedStatements(pool: pg.Pool, maxNamed = MAX_NAMED): PostgresPool {
  const names = new Map<string, string>();
  const nameOf = (text: string): string | undefined => {
    const known = names.get(text);
    if (known !== undefined || names.size >= maxNamed) return known;
    const name = `k_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    names.set(text, name);
    return name;
  };
  // One wrapper per connection: Kysely keeps its own state per client object it is given.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  return {
    options: pool.options,
    async connect() {
      const client = await pool.connect();
      const known = wrappers.get(client);
      if (known) return known;
      const wrapper = namingClient(client, nameOf);
      wrappers.set(client, wrapper);
      return wrapper;
    },
    end: () => pool.end(),
  };
}

function namingClient(client: pg.PoolClient, nameOf: (text: string) => string | undefined): PostgresPoolClient {
  let stale = false;
  const query = async (text: string, values: unknown[]) => {
    const name = nameOf(text);
    if (name === undefined) return client.query(text, values);
    try {
      return await client.query({ name, text, values });
    } catch (error) {
      if (!RESULT_TYPE_CHANGED(error)) throw error;
      stale = true;
      // In an open transaction the error has aborted it: only the caller can start again.
      if (client.getTransactionStatus() !== 'I') throw error;
      return client.query(text, values);
    }
  };
  return {
    // Kysely passes a cursor (its streaming) as the only argument: that goes through as it is.
    query: ((textOrCursor: string | pg.Submittable, values: readonly unknown[] = []) =>
      typeof textOrCursor === 'string'
        ? query(textOrCursor, values as unknown[])
        : client.query(textOrCursor)) as unknown as PostgresPoolClient['query'],
    release: (destroy?: boolean) => client.release(destroy === true || stale),
    // Kysely reads the backend's pid from it to cancel a query (an undocumented member of pg's Client).
    get processID() {
      return (client as unknown as { processID?: number }).processID;
    },
  } as PostgresPoolClient;
}
