/**
 * What real apps run under gantry met, each seen for real: a crash after serving is replaced at once
 * (backoff only for workers that die before they serve); start-up that hangs is bounded by boot-timeout
 * and a stop during it is heard; a leaking worker is recycled by memory; an upload over the limit gets its
 * 413 before the body (Expect: 100-continue) and even while the body still arrives (lingering close).
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { request } from '../helpers/http.js';
import { startLoad } from '../helpers/load.js';
import { FIXTURES, type Running, cleanUpProcesses, freePort, gantry } from '../helpers/process.js';
import { exchange } from '../helpers/raw.js';

cleanUpProcesses();

async function serve(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ proc: Running; url: string; port: number }> {
  const port = await freePort();
  const proc = gantry(['serve', '--bind', `127.0.0.1:${port}`, ...args], { env, cwd: FIXTURES });
  await proc.waitFor(/listening at/);
  return { proc, url: `http://127.0.0.1:${port}`, port };
}

/** Starts `gantry serve` that is expected to stop by itself; resolves with its exit and output. */
async function failsToStart(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; proc: Running }> {
  const proc = gantry(['serve', '--bind', `127.0.0.1:${await freePort()}`, ...args], { env, cwd: FIXTURES });
  const { code } = await proc.exit(15_000);
  return { code, proc };
}

describe('crashes', () => {
  it('replaces a worker that served and then crashed at once, every time, with no backoff', async () => {
    const { proc, url } = await serve(['--workers', '2', 'apps/crash-every.mjs'], { CRASH_EVERY: '10' });
    // 60 answered requests: six crashes. (While both workers boot after crashing together, requests are refused.)
    for (let answered = 0, tries = 0; answered < 60 && tries < 5000; tries++) {
      if ((await request(url).catch(() => undefined))?.status === 200) answered++;
    }
    const lines = proc.output.split('\n');
    const crashes = lines.flatMap((line, i) => (/exited with code 1: crashed/.test(line) ? [i] : []));
    expect(crashes.length).toBeGreaterThanOrEqual(5);
    for (const at of crashes) {
      const slot = /worker (\d+)/.exec(lines[at] ?? '')?.[1];
      // The next line about that slot is its replacement booting.
      const next = lines.slice(at + 1).find((line) => line.includes(`worker ${slot} `));
      expect(next).toMatch(new RegExp(`worker ${slot} \\(pid \\d+\\) booting`));
    }
    expect(proc.output).not.toMatch(/respawning in/);
  });

  it('starts a replacement as soon as a worker reports an uncaught exception, while it finishes its requests', async () => {
    const { proc, url } = await serve(['--workers', '1', 'apps/node-app.mjs']);
    const slow = request(`${url}/slow?ms=1500`);
    await proc.waitFor(/slow request started/);
    expect((await request(`${url}/crash`)).body).toBe('crashing soon');
    // The replacement serves while the crashed worker still finishes the slow request.
    await proc.waitFor(/uncaught exception in the app[\s\S]*worker 1 \(pid \d+\) ready/);
    expect(proc.output).not.toMatch(/exited with code 1: crashed[\s\S]*worker 1 \(pid \d+\) ready/);
    expect(await slow).toMatchObject({ status: 200, body: 'slow done' });
    await proc.waitFor(/exited with code 1: crashed/);
  });

  it('backs off, doubling, for a slot whose workers are killed while they boot', async () => {
    const proc = gantry(['serve', '--workers', '1', '--bind', `127.0.0.1:${await freePort()}`, 'apps/dies-while-booting.mjs'], {
      cwd: FIXTURES,
    });
    await proc.waitFor(/respawning in 100 ms[\s\S]*respawning in 200 ms[\s\S]*respawning in 400 ms/);
    expect(proc.output).toMatch(/worker 1 \(pid \d+\) was killed by SIGKILL \(perhaps out of memory\?\): crashed/);
  });
});

describe('start-up that hangs or is stopped', () => {
  it.each([
    [
      '--preload of a factory that never resolves',
      ['--preload', 'apps/never-ready.mjs'],
      /preload \(loading the app in the primary\) did not finish within boot-timeout \(2 s\)/,
    ],
    [
      '--preload of a module whose top-level await never settles',
      ['--preload', 'apps/hangs-at-import.mjs'],
      /preload \(loading the app in the primary\) did not finish within boot-timeout \(2 s\)/,
    ],
    [
      'a worker whose module never finishes loading',
      ['--workers', '1', 'apps/hangs-at-import.mjs'],
      /worker 1 .*(did not finish loading the app within boot-timeout|was not serving 2 s after it started)/,
    ],
    [
      'an onStarting hook that never finishes',
      ['--config', 'hanging-hook.config.mjs', 'apps/node-app.mjs'],
      /the onStarting hook did not finish within boot-timeout \(2 s\)/,
    ],
  ])('stops with exit 3 and says why: %s', async (_, args, why) => {
    const { code, proc } = await failsToStart(['--boot-timeout', '2', ...args]);
    expect(code).toBe(3);
    expect(proc.stderr).toMatch(why);
  });

  it('hears SIGTERM while a preload hangs (as PID 1 must) and exits 0', async () => {
    const proc = gantry(['serve', '--bind', `127.0.0.1:${await freePort()}`, '--preload', 'apps/never-ready.mjs'], {
      cwd: FIXTURES,
    });
    await proc.waitFor(/preload: loading apps\/never-ready.mjs in the primary/);
    proc.signal('SIGTERM');
    expect(await proc.exit()).toEqual({ code: 0, signal: null });
    expect(proc.output).toContain('SIGTERM while starting up: stopped before any worker started');
  });

  it('bounds --check-config by boot-timeout: exit 1 and the reason', async () => {
    const proc = gantry(['serve', '--boot-timeout', '2', '--check-config', 'apps/never-ready.mjs'], { cwd: FIXTURES });
    expect((await proc.exit()).code).toBe(1);
    expect(proc.stderr).toContain('gantry: check failed: apps/never-ready.mjs did not finish loading within boot-timeout (2 s)');
  });
});

describe('memory', () => {
  it('replaces a leaking worker once its RSS passes max-worker-memory, losing no request', async () => {
    const { proc, url } = await serve([
      '--workers',
      '1',
      '--max-worker-memory',
      '150',
      '--metrics-bind',
      `127.0.0.1:${await freePort()}`,
      'apps/leaky-app.mjs',
    ]);
    const load = startLoad(url, { connections: 2 });
    await proc.waitFor(
      /RSS \d+ MiB is over this worker's limit of 1[3-5]\d MiB \(max-worker-memory\): asking to be replaced/,
      30_000,
    );
    await proc.waitFor(/worker 1 \(pid \d+\) exited with code 0: stopped/, 30_000);
    const result = await load.stop();
    expect(result).toMatchObject({ failed: 0, errors: {} });
    const metricsUrl = /metrics, health and status at (http:\/\/[\d.:]+)\/metrics/.exec(proc.output)?.[1];
    const metrics = (await request(`${metricsUrl}/metrics`)).body;
    expect(metrics).toMatch(/^gantry_worker_restarts_total\{reason="memory"\} [1-9]\d*$/m);
  });
});

describe('uploads over the limit', () => {
  it('answers Expect: 100-continue over the body limit with 413 at once, never 100 Continue', async () => {
    const { port } = await serve(['--workers', '1', '--limit-request-body', '1000', 'apps/node-app.mjs']);
    const refused = await exchange(
      port,
      'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 20000000\r\n\r\n',
      {
        halfClose: false,
      },
    );
    expect(refused.statuses).toEqual([413]);
    expect(refused.response).not.toContain('100 Continue');
    const accepted = await exchange(
      port,
      'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello',
    );
    expect(accepted.response).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
  });

  it('delivers the 413 of a declared upload over the limit while the client is still sending it (lingering close)', async () => {
    const { port } = await serve(['--workers', '1', 'apps/node-app.mjs']);
    const attempt = () =>
      new Promise<string>((resolve) => {
        let answer = '';
        const socket = connect(port, '127.0.0.1', () => {
          socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\n\r\n');
          const chunk = Buffer.alloc(65536, 120);
          let sent = 0;
          const pump = () => {
            while (sent < 4_000_000 && socket.writable && socket.write(chunk)) sent += chunk.length;
          };
          socket.on('drain', pump);
          pump();
        });
        socket.on('data', (data: Buffer) => (answer += data.toString('latin1')));
        socket.on('error', () => {});
        socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
      });
    const answers: string[] = [];
    for (let i = 0; i < 20; i++) answers.push(await attempt());
    expect(answers).toEqual(Array.from({ length: 20 }, () => 'HTTP/1.1 413 Payload Too Large'));
  });
});
