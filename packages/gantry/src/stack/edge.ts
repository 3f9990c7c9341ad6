/**
 * The app's part of the edge: one nginx snippet (edge.conf), rendered from gantry's settings, that the
 * template includes inside its server block, so nginx is configured once for the local stack and the
 * image:
 * - `client_max_body_size` from the server's limit-request-body (nginx refuses what gantry would);
 * - a location per static mount (`--static PREFIX=DIR`, `--immutable-static PREFIX=DIR`): files from
 *   disk, with `Cache-Control` (an hour, a year for a content-hashed name; a year and immutable for an
 *   immutable mount, where every name is hashed: /_next/static/, /_nuxt/, /_astro/, /assets/), `.gz`
 *   files beside them served as such (gzip_static), dotfiles refused, and a missing file handed to the
 *   app (a page of the previous release may still ask for it; see the deploy-skew notes in README),
 *   from an immutable mount to each replica in turn until one has it (the template's @gantry_asset);
 * - `location /`: files of a root mount (`/=public`) when there is one, else nothing, then the app;
 * - for the local stack in development (`--dev-server PREFIX=URL`), a proxy to a development server
 *   (Vite's, hot module replacement included) in place of the static mounts under its prefix.
 * The local stack points the locations at the directories themselves; `gantry edge --out DIR` (the nginx
 * image's build stage) copies each directory into DIR and points at the copies.
 */
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Codec, InvalidValue, stringOnly } from '../settings/codecs.js';
import { HSTS_MAX_AGE_S, type TlsFiles, renderTls } from './tls.js';

export interface StaticMount {
  /** The URL prefix: "/_next/static/", or "/" for files at the root (a framework's public/). */
  readonly prefix: string;
  /** The directory, relative to the working directory. */
  readonly dir: string;
}

const MOUNT_EXPECTED = 'PREFIX=DIR, a URL prefix with both slashes and a directory (/_next/static/=.next/static, /=public)';

/**
 * "PREFIX=VALUE" split at its first "=", the prefix checked: both slashes, since without the trailing
 * one /static../secret would escape the directory (alias traversal). Undefined when it is no such pair.
 */
function prefixPair(raw: string): { prefix: string; value: string } | undefined {
  const text = raw.trim();
  const equals = text.indexOf('=');
  const prefix = text.slice(0, equals);
  if (equals < 0 || !/^\/([A-Za-z0-9._~-]+\/)*$/.test(prefix)) return undefined;
  return { prefix, value: text.slice(equals + 1) };
}

export function parseStaticMount(raw: string): StaticMount {
  const pair = prefixPair(raw);
  if (!pair || pair.value === '') throw new InvalidValue(MOUNT_EXPECTED);
  return { prefix: pair.prefix, dir: pair.value };
}

export const staticMountCodec: Codec<StaticMount, string> = stringOnly({
  expected: MOUNT_EXPECTED,
  meta: 'PREFIX=DIR',
  fromString: parseStaticMount,
  format: (mount) => `${mount.prefix}=${mount.dir}`,
});

/** A development server (Vite's) the local stack's nginx proxies a prefix to. */
export interface DevServer {
  readonly prefix: string;
  /** http://host:port, no path: nginx passes the whole URI on. */
  readonly url: string;
}

const DEV_EXPECTED = 'PREFIX=URL, a URL prefix with both slashes and an http://host:port (/static/=http://127.0.0.1:5173)';

export const devServerCodec: Codec<DevServer, string> = stringOnly({
  expected: DEV_EXPECTED,
  meta: 'PREFIX=URL',
  fromString(raw) {
    const pair = prefixPair(raw);
    if (!pair || !/^http:\/\/[A-Za-z0-9.[\]:-]+:\d+$/.test(pair.value)) throw new InvalidValue(DEV_EXPECTED);
    return { prefix: pair.prefix, url: pair.value };
  },
  format: (dev) => `${dev.prefix}=${dev.url}`,
});

export interface EdgeSettings {
  readonly static: readonly StaticMount[];
  readonly immutableStatic: readonly StaticMount[];
  /** The nginx that serves them loads ngx_brotli's brotli_static: .br files beside the originals are sent too. */
  readonly brotliStatic?: boolean;
  /** The local stack's development servers, in place of the static mounts under their prefixes. */
  readonly devServers?: readonly DevServer[];
  /** The server's limit-request-body in bytes (0: none). */
  readonly limitRequestBody: number;
  /** The server's health-prefix ('' when off): its answers are for probes on the server's own port, not the edge's clients. */
  readonly healthPrefix: string;
}

const quote = (text: string) => JSON.stringify(text);

/** A prefix location: files from `dir`, the cache policy of its kind, the app for a missing one. */
function prefixLocation(prefix: string, dir: string, kind: 'static' | 'immutable', brotli: boolean): string {
  return `location ^~ ${prefix} {
    alias ${quote(`${dir}/`)};
    set $gantry_static ${kind};
    gzip_static on;${brotli ? '\n    brotli_static on;' : ''}
    error_page 404 = ${kind === 'immutable' ? '@gantry_asset' : '@gantry'};
    location ~ /\\. {
        return 404;
    }
}`;
}

/** The root location: files of a root mount first (none: an empty directory), then the app. */
function rootLocation(dir: string, kind: 'static' | 'immutable' | 'none'): string {
  return `location / {
    root ${quote(dir)};
${kind === 'none' ? '' : `    set $gantry_static ${kind};\n    gzip_static on;\n`}    try_files $uri @gantry;
}`;
}

/** A development server's location: everything under its prefix, WebSocket upgrades (hot module replacement) too. */
function devServerLocation({ prefix, url }: DevServer): string {
  return `location ^~ ${prefix} {
    proxy_pass ${url};
    proxy_http_version 1.1;
    proxy_set_header Host $host;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $http_connection;
    proxy_read_timeout 1h;
}`;
}

/**
 * edge.conf's text; `dirFor(mount, i)` is where the i-th mount's files are (the directory itself, or
 * its copy), `emptyDir` a directory with nothing in it (the root when no mount has "/").
 */
export function renderEdge(
  settings: EdgeSettings,
  dirFor: (mount: StaticMount, index: number) => string,
  emptyDir: string,
): string {
  const devServers = settings.devServers ?? [];
  const underDevServer = (mount: StaticMount) => devServers.some((dev) => mount.prefix.startsWith(dev.prefix));
  // Each mount keeps its index (dirFor's copies are numbered by it), whether or not a dev server hides it.
  const mounts = [
    ...settings.static.map((mount) => ({ mount, kind: 'static' as const })),
    ...settings.immutableStatic.map((mount) => ({ mount, kind: 'immutable' as const })),
  ]
    .map((entry, index) => ({ ...entry, index }))
    .filter(({ mount }) => !underDevServer(mount));
  const rootMount = mounts.find(({ mount }) => mount.prefix === '/');
  const lines = [
    '# Written by gantry (stack or edge) from its settings: do not edit, change the settings.',
    `client_max_body_size ${settings.limitRequestBody};`,
    // Readiness names what failed (a database's host, a migration): probes ask the server directly.
    ...(settings.healthPrefix === '' ? [] : [`location ^~ ${settings.healthPrefix}/ {\n    return 404;\n}`]),
    ...devServers.map(devServerLocation),
    ...mounts.flatMap(({ mount, kind, index }) =>
      mount.prefix === '/' ? [] : [prefixLocation(mount.prefix, dirFor(mount, index), kind, settings.brotliStatic === true)],
    ),
    rootMount ? rootLocation(dirFor(rootMount.mount, rootMount.index), rootMount.kind) : rootLocation(emptyDir, 'none'),
  ];
  return `${lines.join('\n')}\n`;
}

/** The files the template includes: GANTRY_EDGE_CONF and GANTRY_TLS_CONF. */
export interface EdgeFiles {
  readonly edgeConf: string;
  readonly tlsConf: string;
}

/**
 * For the local stack: edge.conf in `outDir`, pointing at the mounts' own directories, and tls.conf
 * (the edge's TLS with `tls`, else none).
 */
export async function writeLocalEdge(settings: EdgeSettings, cwd: string, outDir: string, tls?: TlsFiles): Promise<EdgeFiles> {
  const emptyDir = join(outDir, 'empty');
  await mkdir(emptyDir, { recursive: true });
  const edgeConf = join(outDir, 'edge.conf');
  await writeFile(
    edgeConf,
    renderEdge(settings, (mount) => resolve(cwd, mount.dir), emptyDir),
  );
  const tlsConf = join(outDir, 'tls.conf');
  await writeFile(tlsConf, renderTls(tls));
  return { edgeConf, tlsConf };
}

/** Where the nginx image finds its certificate and key with tls.conf: compose's secrets (or Kubernetes', mounted there). */
export const IMAGE_TLS_FILES = { certificate: '/run/secrets/tls_certificate', key: '/run/secrets/tls_key' } as const;

/**
 * For an image: each mount's directory copied into `outDir/static/<i>`, and `outDir/edge.conf`
 * pointing at the copies as they will be at `servedFrom` in the image (by default `outDir` itself); and
 * the two TLS choices the image's GANTRY_TLS_CONF picks between: no-tls.conf, and tls.conf (IMAGE_TLS_FILES).
 */
export async function buildEdge(settings: EdgeSettings, cwd: string, outDir: string, servedFrom = outDir): Promise<string> {
  const mounts = [...settings.static, ...settings.immutableStatic];
  await mkdir(join(outDir, 'empty'), { recursive: true });
  for (const [i, mount] of mounts.entries()) {
    await cp(resolve(cwd, mount.dir), join(outDir, 'static', String(i)), { recursive: true });
  }
  const file = join(outDir, 'edge.conf');
  await writeFile(
    file,
    renderEdge(settings, (_, i) => join(servedFrom, 'static', String(i)), join(servedFrom, 'empty')),
  );
  await writeFile(join(outDir, 'no-tls.conf'), renderTls(undefined));
  await writeFile(join(outDir, 'tls.conf'), renderTls({ ...IMAGE_TLS_FILES, hstsMaxAge: HSTS_MAX_AGE_S }));
  return file;
}
