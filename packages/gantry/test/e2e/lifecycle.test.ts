/**
 * What README promises about stopping and failing, each seen for real: readiness while draining, the fast
 * stops, a graceful timeout that expires, a hung worker deaf to SIGABRT, hooks that throw, JSON logs,
 * several bind addresses, Koa and Hono apps, and SO_REUSEPORT.
 */
import { Agent, request as httpRequest } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Reply, request } from '../helpers/http.js';
import { FIXTURES, type Running, cleanUpProcesses, freePort, gantry } from '../helpers/process.js';

cleanUpProcesses();

async function serve(args: readonly string[], env: Record<string, string> = {}): Promise<{ proc: Running; url: string }> {
  const port = await freePort();
  const proc = gantry(['serve', '--bind', `127.0.0.1:${port}`, ...args], { env, cwd: FIXTURES });
  await proc.waitFor(/listening at/);
  return { proc, url: `http://127.0.0.1:${port}` };
}

/** A request on `agent`'s kept connection (an HTTP client that reuses its socket, as nginx does). */
function keptRequest(agent: Agent, url: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('stopping', () => {
  it('answers /_gantry/ready 503 (and closes) on a kept connection once the worker drains; /live stays 200', async () => {
    const { proc, url } = await serve(['--workers', '1', 'apps/node-app.mjs']);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect((await keptRequest(agent, `${url}/_gantry/ready`)).status).toBe(200);
    const slow = request(`${url}/slow?ms=3000`);
    await proc.waitFor(/slow request started/);
    proc.signal('SIGTERM');
    await proc.waitFor(/SIGTERM: stopping gracefully/);
    let reply = await keptRequest(agent, `${url}/_gantry/ready`);
    while (reply.status === 200) reply = await keptRequest(agent, `${url}/_gantry/ready`);
    expect(reply).toMatchObject({ status: 503, body: 'draining\n', headers: { connection: 'close' } });
    expect(await slow).toMatchObject({ status: 200, body: 'slow done' });
    expect(await proc.exit()).toEqual({ code: 0, signal: null });
    agent.destroy();
  });

  it.each(['SIGINT', 'SIGQUIT'] as const)('%s stops at once: the request in flight is cut, exit 0', async (signal) => {
    const { proc, url } = await serve(['apps/node-app.mjs']);
    const slow = request(`${url}/slow?ms=20000`, { timeoutMs: 30_000 });
    await proc.waitFor(/slow request started/);
    proc.signal(signal);
    await expect(slow).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(await proc.exit()).toEqual({ code: 0, signal: null });
    expect(proc.output).toContain(`${signal}: stopping now`);
  });

  it('cuts a request still running at graceful-timeout, logs it, and exits 0', async () => {
    const { proc, url } = await serve(['--workers', '1', '--graceful-timeout', '1', 'apps/node-app.mjs']);
    const slow = request(`${url}/slow?ms=20000`, { timeoutMs: 30_000 });
    await proc.waitFor(/slow request started/);
    proc.signal('SIGTERM');
    await expect(slow).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(await proc.exit()).toEqual({ code: 0, signal: null });
    expect(proc.output).toMatch(/graceful timeout: closed 1 connection\(s\) with 1 request\(s\) still running/);
    expect(proc.output).toMatch(/worker 1 \(pid \d+\) exited with code 0: stopped/);
  });
});

describe('failing', () => {
  it('kills a hung worker that survives SIGABRT with SIGKILL, and replaces it', async () => {
    const { proc, url } = await serve(['--workers', '1', '--timeout', '1', 'apps/stubborn-hang.mjs']);
    void request(`${url}/hang`).catch(() => {});
    const [, pid] = (await proc.waitFor(
      /worker 1 \(pid (\d+)\) is hung: no heartbeat for [\d.]+ s \(timeout 1 s\); SIGABRT/,
    )) as string[];
    await proc.waitFor(new RegExp(`worker 1 \\(pid ${pid}\\) was killed by SIGKILL`));
    await proc.waitFor(new RegExp(`killed by SIGKILL[\\s\\S]*worker 1 \\(pid (?!${pid}\\))\\d+\\) ready`));
    expect((await request(url)).body).toBe('ok');
  });

  it('logs a primary hook that throws (whenReady) and goes on serving', async () => {
    const { proc, url } = await serve(['--config', 'throwing-hook.config.mjs', 'apps/node-app.mjs'], { THROW_HOOK: 'whenReady' });
    await proc.waitFor(/the whenReady hook failed/);
    expect(proc.output).toContain('the whenReady hook throws on purpose');
    expect((await request(url)).body).toBe('hello from node');
  });

  it('stops with exit 3 when postFork throws: a worker that cannot be set up failed to boot', async () => {
    const proc = gantry(
      ['serve', '--bind', `127.0.0.1:${await freePort()}`, '--config', 'throwing-hook.config.mjs', 'apps/node-app.mjs'],
      {
        cwd: FIXTURES,
        env: { THROW_HOOK: 'postFork' },
      },
    );
    expect((await proc.exit()).code).toBe(3);
    expect(proc.stderr.match(/^gantry: error: .*$/gm)).toEqual([
      'gantry: error: worker 1 could not be set up: the postFork hook failed: the postFork hook throws on purpose',
    ]);
  });
});

describe('serving', () => {
  it('writes every log line as JSON with --log-format json', async () => {
    const { proc, url } = await serve(['--log-format', 'json', 'apps/node-app.mjs']);
    // A line from a worker too: the app fails a request, and the worker logs it with the error.
    expect((await request(`${url}/throw`)).status).toBe(500);
    proc.signal('SIGTERM');
    await proc.exit();
    const lines = proc.stderr.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(5);
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const entry of entries) {
      expect(typeof entry.level, JSON.stringify(entry)).toBe('number');
      expect(typeof entry.msg, JSON.stringify(entry)).toBe('string');
      expect(typeof entry.pid, JSON.stringify(entry)).toBe('number');
    }
    expect(new Set(entries.map((entry) => entry.role))).toEqual(new Set(['primary', 'worker']));
    expect(entries.find((entry) => entry.role === 'worker')).toMatchObject({
      level: 50,
      msg: 'the app failed while handling a request',
      err: { message: 'boom in a request' },
    });
  });

  it('serves every --bind address at once: two TCP ports and a unix socket', async () => {
    const [first, second] = [await freePort(), await freePort()];
    const socket = join(await mkdtemp(join(tmpdir(), 'gantry-binds-')), 'gantry.sock');
    const proc = gantry(
      ['serve', '-b', `127.0.0.1:${first}`, '-b', `127.0.0.1:${second}`, '-b', `unix:${socket}`, 'apps/node-app.mjs'],
      {
        cwd: FIXTURES,
      },
    );
    await proc.waitFor(new RegExp(`listening at http://127.0.0.1:${first}, http://127.0.0.1:${second}, unix:${socket}`));
    expect((await request(`http://127.0.0.1:${first}/`)).body).toBe('hello from node');
    expect((await request(`http://127.0.0.1:${second}/`)).body).toBe('hello from node');
    const viaSocket = await new Promise<string>((resolve, reject) => {
      httpRequest({ socketPath: socket, path: '/', agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve(body));
      })
        .on('error', reject)
        .end();
    });
    expect(viaSocket).toBe('hello from node');
  });

  it.each([
    ['a Koa app', 'apps/koa-app.mjs', 'koa says hi to ada'],
    ['a Hono app', 'apps/hono-app.mjs', 'hono says hi to ada'],
  ])('serves %s, unchanged, on every worker', async (_, app, body) => {
    const { url } = await serve(['--workers', '2', app]);
    for (let i = 0; i < 4; i++) expect((await request(`${url}/?name=ada`)).body).toBe(body);
  });

  it('serves with --reuse-port: each worker its own socket, every worker answering, reloads included', async () => {
    const { proc, url } = await serve(['--workers', '2', '--reuse-port', 'apps/node-app.mjs']);
    const pids = async () => {
      const seen = new Set<string>();
      // New connections each time: the kernel spreads them over both workers' sockets.
      for (let i = 0; i < 40 && seen.size < 2; i++) seen.add((await request(`${url}/pid`)).body);
      return seen;
    };
    expect((await pids()).size).toBe(2);
    proc.signal('SIGHUP');
    await proc.waitFor(/reload complete[\s\S]*exited with code 0: stopped[\s\S]*exited with code 0: stopped/);
    expect((await pids()).size).toBe(2);
  });
});
