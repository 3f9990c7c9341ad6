/**
 * What an app tells gantry (gantry/app): readiness checks that PREFIX/ready and `gantry health`
 * include and recover from by themselves (liveness never runs them), and metrics the primary
 * aggregates with its own; and an onStarting hook that stops the start.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { request } from '../helpers/http.js';
import { parsePrometheus, total } from '../helpers/prometheus-text.js';
import { FIXTURES, cleanUpProcesses, freePort, gantry } from '../helpers/process.js';

cleanUpProcesses();

async function health(port: number): Promise<{ code: number | null; output: string }> {
  const proc = gantry(['health'], { cwd: FIXTURES, env: { GANTRY_BIND: `127.0.0.1:${port}` } });
  return { code: (await proc.exit()).code, output: proc.output };
}

describe('readiness checks', () => {
  it('fail /_gantry/ready and gantry health with the reason while a check fails, and recover by themselves; /live stays 200', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gantry-ready-'));
    const [downFile, slowFile] = [join(dir, 'down'), join(dir, 'slow')];
    await writeFile(downFile, '');
    const port = await freePort();
    const proc = gantry(['serve', '--bind', `127.0.0.1:${port}`, '--workers', '2', 'apps/app-hooks.mjs'], {
      cwd: FIXTURES,
      env: { DOWN_FILE: downFile, SLOW_FILE: slowFile },
    });
    await proc.waitFor(/listening at/);
    const url = `http://127.0.0.1:${port}`;
    const unready = await request(`${url}/_gantry/ready`);
    expect(unready).toMatchObject({ status: 503, body: 'dependency: the dependency is down\n' });
    expect(unready.headers['cache-control']).toBe('no-store');
    expect(await request(`${url}/_gantry/live`)).toMatchObject({ status: 200, body: 'ok\n' });
    expect(await health(port)).toMatchObject({
      code: 1,
      output: expect.stringContaining('dependency: the dependency is down') as unknown,
    });
    await proc.waitFor(/not ready: dependency: the dependency is down/);
    // The app itself still answers: readiness is advice to a load balancer, not a gate.
    expect((await request(url)).body).toBe('ok');

    await rm(downFile);
    // Each worker keeps its verdict for a second: both recover within that (four probes reach both).
    const allReady = async () =>
      (await Promise.all([1, 2, 3, 4].map(() => request(`${url}/_gantry/ready`)))).every((r) => r.status === 200);
    expect(await eventually(allReady, Boolean, { timeoutMs: 10_000, intervalMs: 100 })).toBe(true);
    expect(await health(port)).toMatchObject({ code: 0 });
    await proc.waitFor(/ready again: every readiness check passes/);

    await writeFile(slowFile, '');
    const slow = await eventually(
      () => request(`${url}/_gantry/ready`),
      (reply) => reply.status === 503,
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(slow.status).toBe(503);
    expect(slow.body).toBe('slow: no answer within 300 ms\n');
    expect((await request(`${url}/_gantry/live`)).status).toBe(200);
    await rm(dir, { recursive: true });
  });
});

describe("the app's metrics", () => {
  it('are served by the primary beside gantry’s, summed over the workers; a name of gantry’s is left out', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const proc = gantry(
      [
        'serve',
        '--bind',
        `127.0.0.1:${port}`,
        '--workers',
        '2',
        '--metrics-bind',
        `127.0.0.1:${metricsPort}`,
        'apps/app-hooks.mjs',
      ],
      { cwd: FIXTURES },
    );
    await proc.waitFor(/listening at/);
    for (let i = 0; i < 20; i++) await request(`http://127.0.0.1:${port}/`);
    const samples = parsePrometheus((await request(`http://127.0.0.1:${metricsPort}/metrics`)).body);
    expect(total(samples, 'fixture_served_total')).toBe(20);
    expect(total(samples, 'gantry_http_requests_total')).toBe(20);
    await proc.waitFor(/the app's metric gantry_http_requests_total has the name of one of gantry's/);
  });
});

describe('the onStarting hook', () => {
  it('stops the start when it throws: one line, exit 3, no worker', async () => {
    const proc = gantry(
      ['serve', '--bind', `127.0.0.1:${await freePort()}`, '--config', 'throwing-hook.config.mjs', 'apps/node-app.mjs'],
      {
        cwd: FIXTURES,
        env: { THROW_HOOK: 'onStarting' },
      },
    );
    expect((await proc.exit()).code).toBe(3);
    expect(proc.stderr.match(/^gantry: error: .*$/gm)).toEqual([
      'gantry: error: the onStarting hook failed: the onStarting hook throws on purpose',
    ]);
    expect(proc.output).not.toMatch(/worker 1 \(pid \d+\) booting/);
  });
});
