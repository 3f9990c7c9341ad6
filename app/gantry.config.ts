/**
 * The seed's gunicorn_config.py. GANTRY_WORKERS, GANTRY_THREADS and GANTRY_BIND (like every GANTRY_*
 * variable) override these values; a command-line flag overrides both.
 */
import { type LogFormat, type LogLevel, defineConfig } from 'gantry';
import { config } from './src/config/index.js';
import { checkDatabaseAtStart } from './src/db/start-check.js';

export default defineConfig({
  workers: 2,
  threads: 4,
  bind: '0.0.0.0:8080',
  // Trust X-Forwarded-* from loopback only; compose sets GANTRY_FORWARDED_ALLOW_IPS to nginx's address,
  // never '*' (the seed's mistake: anyone reaching the app's port could claim any client IP or HTTPS).
  forwardedAllowIps: ['127.0.0.1', '::1'],
  secureSchemeHeaders: { 'X-Forwarded-Proto': 'https' },
  // What nginx serves from disk, for the local stack and the nginx image (gantry edge) alike: the
  // frontend's content-hashed build (a year, immutable, precompressed) and the plain static files.
  immutableStatic: ['/static/assets/=app/dist/public/assets'],
  static: ['/static/=app/static'],
  // gantry's own log follows the app's profile (JSON in Production, readable lines in Dev); gantry
  // checks the values and names this file if one is wrong.
  logFormat: config.LOG_FORMAT as LogFormat,
  logLevel: config.LOG_LEVEL as LogLevel,
  hooks: {
    // Once, in the primary, before any worker: a database that is unreachable or refuses the
    // credentials stops the start with one line; the connection budget is logged.
    onStarting: (server) => checkDatabaseAtStart(config, { kind: server.kind, workers: server.settings.workers }, server.log),
  },
});
