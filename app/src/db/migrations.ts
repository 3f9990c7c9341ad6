/**
 * The schema's migrations: the SQL files in app/migrations, applied in name order by Kysely's Migrator,
 * which takes a transaction-level advisory lock and runs every pending file in one transaction (so two
 * runners queue behind each other, and a failing file leaves the database as it was). Forward only: a
 * rolling deploy runs old and new code against one schema, so a change is made in steps that both can
 * live with (add a column, backfill, then drop the old one in a later release).
 */
import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Kysely, sql } from 'kysely';
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration';

/** app/migrations, from this module's place in the build (app/dist/src/db/). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/', import.meta.url));

const MIGRATION_FILE = /^\d{4}_[a-z0-9_]+\.sql$/;

/** Each NNNN_name.sql file is one migration, named without its extension. */
class SqlFileMigrations implements MigrationProvider {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(this.#dir)).filter((name) => name.endsWith('.sql')).sort();
    const misnamed = files.filter((name) => !MIGRATION_FILE.test(name));
    if (misnamed.length > 0) throw new Error(`migration files must be named NNNN_name.sql: ${misnamed.join(', ')}`);
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      const text = await readFile(`${this.#dir}/${file}`, 'utf8');
      migrations[file.slice(0, -'.sql'.length)] = {
        up: async (db) => {
          await sql.raw(text).execute(db);
        },
      };
    }
    return migrations;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the migrator serves any schema
export function createMigrator(db: Kysely<any>, dir = MIGRATIONS_DIR): Migrator {
  return new Migrator({ db, provider: new SqlFileMigrations(dir) });
}

/** The migrations not applied yet, by name; an error only if the database cannot be read. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the migrator serves any schema
export async function pendingMigrations(db: Kysely<any>, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await createMigrator(db, dir).getMigrations();
  return migrations.filter((migration) => migration.executedAt === undefined).map((migration) => migration.name);
}
