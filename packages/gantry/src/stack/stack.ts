/**
 * `gantry stack`: the seed's deployment on loopback, without containers. It renders the nginx templates,
 * starts a local PostgreSQL if the app needs one and has none (postgres.ts), runs the release command
 * (migrations) once, starts nginx and `gantry serve` as child processes, says where they are, and stops
 * them on SIGINT/SIGTERM (or when one dies), the database last, once the server has drained. Without nginx it says how to install it and runs the server alone.
 * SIGHUP renders the templates again and reloads both (nginx only if the new config passes nginx -t);
 * SIGUSR1 (reopen logs), SIGTTIN and SIGTTOU go to gantry.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { get } from 'node:http';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type ExitCodeValue, ErrorCode, ExitCode, GantryError, describeError } from '../errors.js';
import { PARENT_PID_ENV } from '../internal-env.js';
import { canConnect } from '../net-probe.js';
import type { Logger } from '../logger.js';
import { stopLeftover } from './leftover.js';
import { INSTALL_HINT, type NginxInstall, findNginx, prepareNginx } from './nginx.js';
import { type LocalPostgres, startLocalPostgres } from './postgres.js';
import { writeLocalEdge } from './edge.js';
import { GANTRY_TEMPLATES, type StackSettings } from './settings.js';
import { renderTemplateDir } from './template.js';
import { type TlsFiles, givenTlsFiles, selfSignedTls } from './tls.js';

export interface StackOptions {
  readonly settings: StackSettings;
  /** The `gantry serve` command line (program and arguments) for the app. */
  readonly serve: readonly string[];
  /** The `gantry run` command line for its job workers, if it has some. */
  readonly jobs?: readonly string[] | undefined;
  /** gantry's readiness path (health-prefix + /ready), or undefined when its health answers are off. */
  readonly readyPath?: string | undefined;
  /** The server's limit-request-body: nginx's client_max_body_size. */
  readonly limitRequestBody: number;
  /** The server's health-prefix ('' when off), which nginx does not serve. */
  readonly healthPrefix: string;
  readonly cwd: string;
  readonly logger: Logger;
}

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 35_000;

interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A child whose output is the stack's; `shell` runs `command` as a shell line, `detached` in a process group of its own. */
function start(
  name: string,
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
  options: { shell?: boolean; detached?: boolean } = {},
): Child {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'inherit', 'inherit'], ...options });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolvePromise) => {
    child.once('error', () => resolvePromise({ code: ExitCode.FAILURE, signal: null }));
    child.once('exit', (code, signal) => resolvePromise({ code, signal }));
  });
  return { name, process: child, exited };
}

/** Resolves once `ready()` says so; rejects if one of `children` exits first, or after READY_TIMEOUT_MS. */
async function waitUntil(what: string, ready: () => Promise<boolean>, children: readonly Child[]): Promise<void> {
  let exitedEarly: Child | undefined;
  for (const child of children) void child.exited.then(() => (exitedEarly ??= child));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await ready())) {
    if (exitedEarly) throw new GantryError(ErrorCode.NGINX, `${exitedEarly.name} exited before it was ready.`);
    if (Date.now() > deadline)
      throw new GantryError(ErrorCode.NGINX, `${what} was not ready within ${READY_TIMEOUT_MS / 1000} s.`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether gantry serves on the port: its readiness answer is 200 (without health answers: the port accepts). */
function gantryReady(port: number, readyPath: string | undefined): Promise<boolean> {
  if (readyPath === undefined) return canConnect({ host: '127.0.0.1', port });
  return new Promise((resolvePromise) => {
    const req = get({ host: '127.0.0.1', port, path: readyPath, agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolvePromise(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolvePromise(false));
  });
}

async function stopAll(children: readonly Child[], logger: Logger): Promise<void> {
  for (const child of children) {
    // gantry: TERM drains in-flight requests; nginx: QUIT is its graceful shutdown.
    child.process.kill(child.name === 'nginx' ? 'SIGQUIT' : 'SIGTERM');
  }
  const timer = setTimeout(() => {
    for (const child of children) {
      if (child.process.exitCode === null && child.process.signalCode === null) {
        logger.warn(`${child.name} did not stop within ${STOP_TIMEOUT_MS / 1000} s: SIGKILL`);
        child.process.kill('SIGKILL');
      }
    }
  }, STOP_TIMEOUT_MS);
  await Promise.all(children.map((child) => child.exited));
  clearTimeout(timer);
}

/** The files of `dir` (not its subdirectories) and their contents, to tell whether a render changed any. */
async function snapshot(dir: string): Promise<string> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const names = entries
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name)
    .sort();
  const contents = await Promise.all(names.map((name) => readFile(join(dir, name), 'utf8')));
  return JSON.stringify([names, contents]);
}

/** The edge's certificate with --tls: the one given, or a self-signed one kept in the run directory (it survives a restart). */
async function stackTls(settings: StackSettings, cwd: string, runDir: string): Promise<TlsFiles | undefined> {
  const { tls, tlsCertificate, tlsKey } = settings;
  if (!tls) {
    if (tlsCertificate !== null || tlsKey !== null)
      throw new GantryError(ErrorCode.TLS, 'tls-certificate and tls-key need tls (--tls, GANTRY_TLS=1).');
    return undefined;
  }
  if ((tlsCertificate === null) !== (tlsKey === null)) {
    throw new GantryError(
      ErrorCode.TLS,
      'Give both tls-certificate and tls-key, or neither (a self-signed certificate is made).',
    );
  }
  if (tlsCertificate !== null && tlsKey !== null) return givenTlsFiles(resolve(cwd, tlsCertificate), resolve(cwd, tlsKey));
  return selfSignedTls(join(runDir, 'tls'));
}

/**
 * Renders the templates into the run directory and checks the result with nginx -t. Returns nginx's
 * arguments, and whether the rendered config differs from what was there.
 */
async function configureNginx(
  install: NginxInstall,
  options: StackOptions,
  runDir: string,
): Promise<{ args: readonly string[]; changed: boolean }> {
  const { settings, cwd } = options;
  const confDir = join(runDir, 'conf.d');
  const edgeDir = join(runDir, 'edge');
  const before = (await snapshot(confDir)) + (await snapshot(edgeDir));
  await rm(confDir, { recursive: true, force: true });
  await mkdir(confDir, { recursive: true });
  const tls = await stackTls(settings, cwd, runDir);
  const { edgeConf, tlsConf } = await writeLocalEdge(
    {
      static: settings.static,
      immutableStatic: settings.immutableStatic,
      devServers: settings.devServer,
      brotliStatic: install.brotliStaticModule !== undefined,
      limitRequestBody: options.limitRequestBody,
      healthPrefix: options.healthPrefix,
    },
    cwd,
    edgeDir,
    tls,
  );
  await renderTemplateDir(settings.nginxTemplates === null ? GANTRY_TEMPLATES : resolve(cwd, settings.nginxTemplates), confDir, {
    NGINX_LISTEN: `127.0.0.1:${settings.nginxPort}${tls ? ' ssl http2' : ''}`,
    GANTRY_UPSTREAM: `127.0.0.1:${settings.appPort}`,
    GANTRY_EDGE_CONF: edgeConf,
    GANTRY_TLS_CONF: tlsConf,
  });
  const args = await prepareNginx(install, runDir);
  return { args, changed: (await snapshot(confDir)) + (await snapshot(edgeDir)) !== before };
}

/**
 * HUP: gantry reloads; nginx reloads only if its rendered config changed (an nginx reload closes its
 * clients' idle keep-alive connections) and passes nginx -t (otherwise it keeps its current one).
 */
function forwardSignals(
  children: readonly Child[],
  reconfigure: () => Promise<{ changed: boolean }>,
  logger: Logger,
): () => void {
  const find = (name: string) => children.find((child) => child.name === name)?.process;
  const handlers: [NodeJS.Signals, () => void][] = [
    [
      'SIGHUP',
      () => {
        logger.info('SIGHUP: reloading gantry, and nginx if its configuration changed');
        find('gantry')?.kill('SIGHUP');
        const nginx = find('nginx');
        if (!nginx) return;
        reconfigure().then(
          ({ changed }) => {
            if (changed) nginx.kill('SIGHUP');
            else logger.info('the nginx configuration is unchanged: nginx keeps running as is');
          },
          (error: unknown) => logger.error(`nginx keeps its current configuration: ${describeError(error)}`),
        );
      },
    ],
    // Both take USR1 as "reopen your log files".
    ['SIGUSR1', () => children.forEach((child) => child.process.kill('SIGUSR1'))],
    ['SIGTTIN', () => find('gantry')?.kill('SIGTTIN')],
    ['SIGTTOU', () => find('gantry')?.kill('SIGTTOU')],
  ];
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return () => handlers.forEach(([signal, handler]) => process.off(signal, handler));
}

/**
 * With database-env: the variable the app reads, pointed at a local PostgreSQL started now, unless the
 * environment sets it (or its _FILE) already.
 */
async function provideDatabase(
  settings: StackSettings,
  runDir: string,
  cwd: string,
  logger: Logger,
): Promise<{ env: NodeJS.ProcessEnv; database?: LocalPostgres }> {
  const name = settings.databaseEnv;
  if (name === null) return { env: process.env };
  if (process.env[name] || process.env[`${name}_FILE`]) {
    logger.info(`${name} is set: the app uses that database (the stack starts none)`);
    return { env: process.env };
  }
  const database = await startLocalPostgres({ runDir, port: settings.databasePort, cwd, logger });
  logger.info(`${name} is unset: a local PostgreSQL ${database.version} serves the app at 127.0.0.1:${settings.databasePort}`);
  return { env: { ...process.env, [name]: database.url }, database };
}

/**
 * The release command (migrations), once, before the server; its output is the stack's. A stop signal
 * meanwhile goes to its whole process group (the shell and what it started); resolves false then.
 */
async function runRelease(
  command: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  logger: Logger,
  stopped: Promise<NodeJS.Signals>,
): Promise<boolean> {
  logger.info(`release: ${command}`);
  const release = start('release', command, [], cwd, env, { shell: true, detached: true });
  let stopping = false;
  void stopped.then((signal) => {
    stopping = true;
    const { process: child } = release;
    if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(-child.pid, signal);
  });
  const { code, signal } = await release.exited;
  if (stopping) return false;
  if (code !== 0) {
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    throw new GantryError(ErrorCode.RELEASE, `The release command (${command}) ${how}: the server was not started.`);
  }
  return true;
}

/**
 * SIGINT and SIGTERM, from the start: once heard, `stopped` resolves and later ones change nothing (the
 * stop under way finishes). SIGHUP is ignored until the servers run (then it reloads them): its default
 * would end the stack and leave the database running.
 */
function stopSignals(): { stopped: Promise<NodeJS.Signals>; release(): void } {
  const { promise, resolve: stop } = Promise.withResolvers<NodeJS.Signals>();
  const handlers: [NodeJS.Signals, () => void][] = [
    ['SIGINT', () => stop('SIGINT')],
    ['SIGTERM', () => stop('SIGTERM')],
    ['SIGHUP', () => {}],
  ];
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return { stopped: promise, release: () => handlers.forEach(([signal, handler]) => process.off(signal, handler)) };
}

export async function runStack(options: StackOptions): Promise<ExitCodeValue> {
  const { settings, cwd, logger } = options;
  const runDir = resolve(cwd, settings.runDir);
  const nginx = await findNginx(settings.nginxBin);
  let nginxArgs: readonly string[] | undefined;
  if (nginx) {
    await stopLeftover(
      {
        pidFile: join(runDir, 'nginx.pid'),
        marker: join(runDir, 'nginx.conf'),
        description: `an nginx from an earlier stack in ${runDir}`,
        stop: 'SIGQUIT',
        force: 'SIGKILL',
        waitMs: 5000,
      },
      logger,
    );
    ({ args: nginxArgs } = await configureNginx(nginx, options, runDir));
  } else {
    logger.warn(`nginx was not found (looked for "${settings.nginxBin}"). ${INSTALL_HINT} Running the gantry server alone.`);
  }
  const signals = stopSignals();
  const { stopped } = signals;
  let stoppedBy: NodeJS.Signals | undefined;
  void stopped.then((signal) => (stoppedBy = signal));
  try {
    const { env, database } = await provideDatabase(settings, runDir, cwd, logger);
    try {
      // A stop while the database started or the release ran: nothing more is started.
      if (
        stoppedBy === undefined &&
        settings.release !== null &&
        !(await runRelease(settings.release, cwd, env, logger, stopped))
      ) {
        logger.info(`${stoppedBy ?? 'a stop signal'} during the release: stopping`);
      }
      if (stoppedBy !== undefined) return ExitCode.OK;
      return await runServers(options, { env, nginx, nginxArgs, database, stopped });
    } finally {
      await database?.stop();
    }
  } finally {
    signals.release();
  }
}

interface Prepared {
  readonly env: NodeJS.ProcessEnv;
  readonly nginx: NginxInstall | undefined;
  readonly nginxArgs: readonly string[] | undefined;
  readonly database: LocalPostgres | undefined;
  readonly stopped: Promise<NodeJS.Signals>;
}

/** gantry, then nginx once gantry serves; until a stop signal or one of them (or the database) exits. */
async function runServers(options: StackOptions, { env, nginx, nginxArgs, database, stopped }: Prepared): Promise<ExitCodeValue> {
  const { settings, cwd, logger } = options;
  const runDir = resolve(cwd, settings.runDir);
  const [program = process.execPath, ...serveArgs] = options.serve;
  // Both stop by themselves if this process dies without stopping them (SIGKILL cannot be caught).
  const childEnv = { ...env, [PARENT_PID_ENV]: String(process.pid) };
  const children: Child[] = [start('gantry', program, serveArgs, cwd, childEnv)];
  if (options.jobs) {
    const [jobsProgram = process.execPath, ...jobsArgs] = options.jobs;
    children.push(start('job workers', jobsProgram, jobsArgs, cwd, childEnv));
  }
  const firstExit = () => Promise.race(children.map((child) => child.exited.then((result) => ({ child, ...result }))));

  // nginx starts once gantry serves, as compose starts it once web is healthy: before, it would answer 502.
  const startInOrder = async () => {
    await waitUntil(`gantry on 127.0.0.1:${settings.appPort}`, () => gantryReady(settings.appPort, options.readyPath), children);
    if (!nginx || !nginxArgs) return;
    children.push(start('nginx', nginx.bin, nginxArgs, cwd));
    await waitUntil(
      `nginx on 127.0.0.1:${settings.nginxPort}`,
      () => canConnect({ host: '127.0.0.1', port: settings.nginxPort }),
      children,
    );
  };
  try {
    await Promise.race([startInOrder(), stopped.then(() => undefined)]);
  } catch (error) {
    await stopAll(children, logger);
    const { child, code } = await firstExit();
    // The server's own message (a bad setting, a missing module) was printed already: keep its exit code.
    if (child.name === 'gantry' && code !== null && code !== 0) return code as ExitCodeValue;
    throw error;
  }

  const lines = [
    ...(nginx
      ? [
          `  ${settings.tls ? 'https' : 'http'}://127.0.0.1:${settings.nginxPort}/  nginx ${nginx.version}: static files, proxy to gantry${settings.tls ? ' (HTTP/2)' : ''}`,
        ]
      : []),
    `  http://127.0.0.1:${settings.appPort}/  gantry serve, directly`,
    ...(database ? [`  ${database.url}  PostgreSQL ${database.version} (data in ${join(runDir, 'postgres')})`] : []),
    ...(options.jobs ? [`  job workers: ${settings.jobWorkers} x ${settings.jobs} (gantry run)`] : []),
  ];
  logger.info(`the stack is up:\n${lines.join('\n')}\n  Press Ctrl-C to stop.`);

  const reconfigure = () => (nginx ? configureNginx(nginx, options, runDir) : Promise.resolve({ changed: false }));
  const unforward = forwardSignals(children, reconfigure, logger);
  const databaseGone = database ? database.exited.then(() => ({ databaseGone: true as const })) : new Promise<never>(() => {});
  const outcome = await Promise.race([stopped.then((signal) => ({ signal })), firstExit(), databaseGone]);
  unforward();
  if ('child' in outcome) {
    const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.code}`;
    logger.error(`${outcome.child.name} ${how}; stopping the stack`);
  } else if ('databaseGone' in outcome) {
    logger.error(`the local PostgreSQL exited (its log: ${join(runDir, 'postgres', 'postgres.log')}); stopping the stack`);
  } else {
    logger.info(`${outcome.signal}: stopping ${database ? 'nginx, gantry and PostgreSQL' : 'nginx and gantry'}`);
  }
  await stopAll(children, logger);
  const requested = !('child' in outcome) && !('databaseGone' in outcome);
  return requested ? ExitCode.OK : ExitCode.FAILURE;
}
