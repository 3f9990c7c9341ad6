/**
 * The seed's app/config/settings.py: one profile per environment, each inheriting the base values.
 * APP_ENV picks the profile (default Dev); every key can be overridden by the environment variable of
 * the same name, or by <KEY>_FILE naming a file that holds the value (Docker secrets).
 */
import { defineSettings, required } from 'gantry/config';

/** The local database `npm start` runs (gantry stack's embedded PostgreSQL, loopback only). */
const LOCAL_DATABASE = 'postgres://gantry:gantry@127.0.0.1:54320/gantry';

export const settings = defineSettings({
  base: {
    // The database: a postgres:// URL. TLS: add ?sslmode=verify-full&sslrootcert=/path/to/ca.pem (see README).
    DB_CONNECTION_STRING: required('string'),
    // The password, when it is kept apart from the URL (DB_PASSWORD_FILE: a compose or Kubernetes secret).
    DB_PASSWORD: '',
    // Each worker's pool: the server's budget is workers x (this + 2: readiness, live updates) x replicas,
    // under max_connections.
    DB_POOL_MAX: 10,
    // A request waits this long for a connection before it is answered 503.
    DB_CONNECT_TIMEOUT_MS: 3000,
    // No query runs longer (the server cancels it).
    DB_STATEMENT_TIMEOUT_MS: 5000,
    // Queries as named prepared statements, planned once per connection (app/src/db/prepared-statements.ts).
    // false behind PgBouncer older than 1.21, or without max_prepared_statements, in transaction mode.
    DB_PREPARED_STATEMENTS: true,
    // Exports (gantry run's job workers): messages read per batch, and a pause between batches (0: none;
    // tests and demos make a job long enough to kill and drain).
    EXPORT_BATCH_SIZE: 500,
    EXPORT_BATCH_DELAY_MS: 0,
    // How many copies of this server share the database, and how many job workers (gantry run) in
    // all, for the connection budget.
    WEB_REPLICAS: 1,
    JOB_WORKERS: 1,
    // npm run dev: the page loads its script from Vite's dev server (hot module replacement), not the build.
    FRONTEND_DEV_SERVER: false,
    MSG: 'Inside BASE CONFIG',
    // Logs: one JSON object per line for machines, or readable lines for people (gantry's and the app's).
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
  },
  profiles: {
    Dev: {
      DB_CONNECTION_STRING: LOCAL_DATABASE,
      MSG: 'Inside DEV CONFIG',
      LOG_FORMAT: 'text',
    },
    Production: {
      MSG: 'Inside PRODUCTION CONFIG',
    },
  },
  // A real connection string carries credentials: never printed by gantry config or in logs.
  secrets: ['DB_CONNECTION_STRING', 'DB_PASSWORD'],
});
