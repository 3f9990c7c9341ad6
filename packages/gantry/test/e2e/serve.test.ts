import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { request } from '../helpers/http.js';
import { FIXTURES, type Running, cleanUpProcesses, freePort, gantry } from '../helpers/process.js';

cleanUpProcesses();

interface Served {
  readonly proc: Running;
  readonly url: string;
  readonly port: number;
}

async function serve(args: readonly string[], env: Record<string, string> = {}): Promise<Served> {
  const port = await freePort();
  const proc = gantry(['serve', '--bind', `127.0.0.1:${port}`, ...args], { env, cwd: FIXTURES });
  await proc.waitFor(/listening at .* with \d+ workers/);
  return { proc, url: `http://127.0.0.1:${port}`, port };
}

function workerPids(proc: Running): Map<number, number> {
  const pids = new Map<number, number>();
  for (const [, slot, pid] of proc.matches(/worker (\d+) \(pid (\d+)\) ready/g)) pids.set(Number(slot), Number(pid));
  return pids;
}

async function refused(url: string): Promise<boolean> {
  return request(url, { timeoutMs: 1000 }).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED',
  );
}

describe('gantry serve', () => {
  it('serves a node listener with two workers, spreading connections over both', async () => {
    const { proc, url } = await serve(['apps/node-app.mjs']);
    expect(proc.output).toMatch(/worker 1 \(pid \d+\) booting/);
    const pids = new Set<string>();
    for (let i = 0; i < 10; i++) pids.add((await request(`${url}/pid`)).body);
    expect(pids).toEqual(new Set([...workerPids(proc).values()].map(String)));
    expect(pids.size).toBe(2);
  });

  it('serves a { fetch } app the same way', async () => {
    const { url } = await serve(['apps/fetch-app.mjs']);
    const reply = await request(`${url}/echo`, { method: 'PUT', body: 'data' });
    expect(JSON.parse(reply.body)).toMatchObject({ method: 'PUT', url: `${url}/echo`, body: 'data', isRequest: true });
    expect((await request(`${url}/response-kind`)).body).toBe('fast');
  });

  it("keeps undici's own Response with --no-fast-response", async () => {
    const { url } = await serve(['--no-fast-response', 'apps/fetch-app.mjs']);
    expect((await request(`${url}/response-kind`)).body).toBe('undici');
    expect((await request(url)).body).toBe('hello from fetch');
  });

  it('on SIGTERM stops accepting, lets a slow request finish, and exits 0', async () => {
    const { proc, url } = await serve(['apps/node-app.mjs']);
    const slow = request(`${url}/slow?ms=1500`);
    await proc.waitFor(/slow request started/);
    proc.signal('SIGTERM');
    await proc.waitFor(/SIGTERM: stopping gracefully/);
    await expect.poll(() => refused(url)).toBe(true);
    expect(await slow).toMatchObject({ status: 200, body: 'slow done' });
    expect(await proc.exit()).toEqual({ code: 0, signal: null });
    expect(proc.output).toMatch(/worker \d \(pid \d+\) exited with code 0: stopped/);
  });

  it('replaces a worker killed with SIGKILL, logs why, and keeps answering', async () => {
    const { proc, url } = await serve(['apps/node-app.mjs']);
    const victim = workerPids(proc).get(1) as number;
    process.kill(victim, 'SIGKILL');
    await proc.waitFor(new RegExp(`worker 1 \\(pid ${victim}\\) was killed by SIGKILL \\(perhaps out of memory\\?\\): crashed`));
    await proc.waitFor(/worker 1 \(pid \d+\) ready[\s\S]*worker 1 \(pid \d+\) ready/);
    const replacement = workerPids(proc).get(1);
    expect(replacement).not.toBe(victim);
    const pids = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const reply = await request(`${url}/pid`);
      expect(reply.status).toBe(200);
      pids.add(reply.body);
    }
    expect(pids.has(String(replacement))).toBe(true);
  });

  it('replaces a worker after an uncaught exception in the app', async () => {
    const { proc, url } = await serve(['apps/node-app.mjs']);
    expect((await request(`${url}/crash`)).body).toBe('crashing soon');
    await proc.waitFor(/uncaught exception in the app: this worker stops and will be replaced/);
    await proc.waitFor(/exited with code 1: crashed/);
    // Its replacement starts while it finishes its requests, so it may turn ready before or after that
    // exit is logged: a third worker ready, either way.
    await proc.waitFor(/(?:worker \d \(pid \d+\) ready[\s\S]*){3}/);
    expect((await request(url)).body).toBe('hello from node');
  });

  it.each([
    ['a node listener', 'apps/node-app.mjs'],
    ['a fetch app', 'apps/fetch-app.mjs'],
  ])('answers 500 when %s throws, and the worker lives on', async (_, app) => {
    const { proc, url } = await serve([app]);
    expect((await request(`${url}/throw`)).status).toBe(500);
    expect(proc.output).toMatch(/the app failed while handling a request/);
    expect((await request(url)).status).toBe(200);
    expect(proc.output).not.toMatch(/crashed/);
  });

  it('closes a Fastify app (its onClose hooks run) in each worker when the server stops', async () => {
    const { proc, url } = await serve(['apps/fastify-app.mjs:app'], { SAY_CLOSED: '1' });
    expect((await request(`${url}/?name=ada`)).body).toBe('fastify says hi to ada');
    proc.signal('SIGTERM');
    expect(await proc.exit()).toEqual({ code: 0, signal: null });
    const closed = proc.matches(/fastify app closed \(pid (\d+)\)/g).map(([, pid]) => Number(pid));
    expect(closed.sort()).toEqual([...workerPids(proc).values()].sort());
  });

  it('loads a TypeScript app and config file in development', async () => {
    const { proc, url } = await serve(['--config', 'ts.config.ts', 'apps/ts-app.ts']);
    expect((await request(url)).body).toBe('hello from typescript');
    expect(proc.output).toMatch(/with 1 workers/);
  });

  it('writes and removes its pid file, and can listen on a unix socket', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gantry-'));
    const pidFile = join(dir, 'gantry.pid');
    const socket = join(dir, 'gantry.sock');
    const { proc } = await serve(['--pid', pidFile, '--bind', `unix:${socket}`, 'apps/node-app.mjs']);
    expect((await readFile(pidFile, 'utf8')).trim()).toBe(String(proc.pid));
    const reply = await new Promise<string>((resolve, reject) => {
      void import('node:http').then(({ get }) =>
        get({ socketPath: socket, path: '/', agent: false }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve(body));
        }).on('error', reject),
      );
    });
    expect(reply).toBe('hello from node');
    proc.signal('SIGTERM');
    expect((await proc.exit()).code).toBe(0);
    expect(existsSync(pidFile)).toBe(false);
  });
});

describe('gantry serve refuses bad input before binding anything', () => {
  it.each([
    [['--workers', '0'], {}, 'workers: "0" from flag --workers is not valid; expected an integer >= 1 and <= 1024'],
    [
      [],
      { GANTRY_KEEP_ALIVE: 'forever' },
      'keepAlive: "forever" from env GANTRY_KEEP_ALIVE is not valid; expected a number of seconds >= 1',
    ],
    [[], { GANTRY_WOKRERS: '3' }, 'GANTRY_WOKRERS is not a gantry setting; did you mean GANTRY_WORKERS?'],
    [['--config', 'typo.config.mjs'], {}, 'wrokers (config file typo.config.mjs) is not a setting; did you mean workers?'],
    [['--wokers', '2'], {}, "Unknown option '--wokers'"],
    [['--config', 'missing.config.js'], {}, 'Cannot find the config file missing.config.js'],
  ])('%j %j: exit 2', async (args, env, message) => {
    const port = await freePort();
    const proc = gantry(['serve', '--bind', `127.0.0.1:${port}`, ...args, 'apps/node-app.mjs'], { env, cwd: FIXTURES });
    expect((await proc.exit()).code).toBe(2);
    expect(proc.stderr).toContain(message);
    expect(proc.stderr).not.toMatch(/\n\s+at /);
    expect(await refused(`http://127.0.0.1:${port}`)).toBe(true);
  });

  it('stops with exit 3 and the stack when the app throws while loading, reported once', async () => {
    const proc = gantry(['serve', '--bind', `127.0.0.1:${await freePort()}`, 'apps/throws-at-import.mjs'], { cwd: FIXTURES });
    expect((await proc.exit()).code).toBe(3);
    expect(
      proc.stderr.match(/error: The app apps\/throws-at-import\.mjs failed to load: the database is unreachable/g),
    ).toHaveLength(1);
    expect(proc.stderr).toMatch(/throws-at-import\.mjs:\d+/);
  });

  it.each([
    ['apps/not-an-app.mjs', 'apps/not-an-app.mjs is a number; expected a node (req, res) listener'],
    ['apps/missing.mjs', 'Cannot find the app apps/missing.mjs'],
  ])('stops with exit 4 when %s is not an app', async (app, message) => {
    const proc = gantry(['serve', '--bind', `127.0.0.1:${await freePort()}`, app], { cwd: FIXTURES });
    expect({ exit: (await proc.exit()).code, output: proc.output }).toMatchObject({ exit: 4 });
    expect(proc.stderr).toContain(message);
  });

  it('exits 1 with a clear message when the address is taken', async () => {
    const { port } = await serve(['apps/node-app.mjs']);
    const second = gantry(['serve', '--bind', `127.0.0.1:${port}`, 'apps/node-app.mjs'], { cwd: FIXTURES });
    expect((await second.exit()).code).toBe(1);
    expect(second.stderr).toContain(`Cannot listen on 127.0.0.1:${port}: the address is already in use`);
  });
});

describe('gantry serve --print-config and --check-config', () => {
  it('prints every setting with its value and source: default < file < env < flag', async () => {
    const proc = gantry(['serve', '--config', 'fixture.config.mjs', '--print-config', '--keep-alive', '80'], {
      env: { GANTRY_WORKERS: '5' },
      cwd: FIXTURES,
    });
    expect((await proc.exit()).code).toBe(0);
    expect(proc.stdout).toMatch(/^workers = 5 +# env GANTRY_WORKERS$/m);
    expect(proc.stdout).toMatch(/^keep-alive = 80 +# flag --keep-alive$/m);
    expect(proc.stdout).toMatch(/^secure-scheme-headers = X-Forwarded-Proto: https +# config file fixture\.config\.mjs$/m);
    expect(proc.stdout).toMatch(/^graceful-timeout = 30 +# default$/m);
  });

  it('checks that the settings and the app load: exit 0, or 1 with the reason', async () => {
    const good = gantry(['serve', '--check-config', 'apps/fetch-app.mjs'], { cwd: FIXTURES });
    expect((await good.exit()).code).toBe(0);
    const bad = gantry(['serve', '--check-config', 'apps/throws-at-import.mjs'], { cwd: FIXTURES });
    expect((await bad.exit()).code).toBe(1);
    expect(bad.stderr).toContain('check failed: The app apps/throws-at-import.mjs failed to load: the database is unreachable');
  });
});
