/**
 * `npm run migrate` (node app/dist/src/db/migrate.js [DIR]): applies the pending migrations (app/migrations,
 * or DIR), once per deploy:
 * the local stack's release step, compose's one-shot `migrate` service, a Kubernetes Job. Never in a
 * web worker. It connects as the schema's owner (DB_CONNECTION_STRING of its environment); two runs at
 * once are safe (the second waits for the first's lock, then finds nothing to do).
 * Exit 0: the schema is current; 1: a migration failed (nothing of it was applied) or the database is
 * unreachable; 2: the configuration is wrong. Then pg-boss's schema and the app's queues (jobs/queue.ts),
 * which workers never create.
 */
import { ConfigError } from 'gantry/config';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { migrateQueue } from '../jobs/queue.js';
import { type ConnectionConfig, connectionOptions, describeDatabaseError } from './connection.js';
import { MIGRATIONS_DIR, createMigrator } from './migrations.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const complain = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<number> {
  let config: ConnectionConfig;
  try {
    ({ config } = await import('../config/index.js'));
  } catch (error) {
    if (error instanceof ConfigError) {
      complain(error.message);
      return 2;
    }
    throw error;
  }
  const db = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ ...connectionOptions(config), max: 1 }) }),
  });
  try {
    const { error, results = [] } = await createMigrator(db, process.argv[2] ?? MIGRATIONS_DIR).migrateToLatest();
    for (const result of results) {
      const outcome = { Success: 'applied', Error: 'FAILED', NotExecuted: 'not applied (an earlier one failed)' }[result.status];
      say(`migration ${result.migrationName}: ${outcome}`);
    }
    if (error) {
      complain(`migrations failed, none of this run's was applied: ${describeDatabaseError(error)}`);
      return 1;
    }
    // The queue's own schema and queues (pg-boss takes its own lock), once the app's schema is current.
    await migrateQueue(config);
    say(results.length === 0 ? 'the schema is up to date' : `the schema is up to date (${results.length} applied)`);
    return 0;
  } catch (error) {
    complain(`migrations could not run: ${describeDatabaseError(error)}`);
    return 1;
  } finally {
    await db.destroy();
  }
}

process.exitCode = await main();
