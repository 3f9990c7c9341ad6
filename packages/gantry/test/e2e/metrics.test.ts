/** Metrics, readiness and the status summary, served by the primary on --metrics-bind. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { request } from '../helpers/http.js';
import { parsePrometheus, total } from '../helpers/prometheus-text.js';
import { FIXTURES, REPO_ROOT, type Running, cleanUpProcesses, freePort, gantry } from '../helpers/process.js';

cleanUpProcesses();

interface Served {
  readonly proc: Running;
  readonly url: string;
  readonly metrics: string;
}

async function serve(app: string, args: readonly string[] = [], env: Record<string, string> = {}): Promise<Served> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const proc = gantry(['serve', '--bind', `127.0.0.1:${port}`, '--metrics-bind', `127.0.0.1:${metricsPort}`, ...args, app], {
    cwd: FIXTURES,
    env,
  });
  await proc.waitFor(/listening at/);
  return { proc, url: `http://127.0.0.1:${port}`, metrics: `http://127.0.0.1:${metricsPort}` };
}

const scrape = async (metrics: string) => parsePrometheus((await request(`${metrics}/metrics`)).body);

describe('metrics on --metrics-bind', () => {
  it('counts every request once across all workers, by method, route pattern and status class', async () => {
    const { url, metrics } = await serve('apps/express-app.mjs');
    for (let i = 0; i < 30; i++) await request(`${url}/users/${i}`);
    for (let i = 0; i < 5; i++) await request(`${url}/fail`);
    await request(`${url}/`, { method: 'POST' });
    const samples = await scrape(metrics);
    expect(total(samples, 'gantry_http_requests_total', { method: 'GET', route: '/users/:id', status_class: '2xx' })).toBe(30);
    expect(total(samples, 'gantry_http_requests_total', { route: '/fail', status_class: '5xx' })).toBe(5);
    expect(total(samples, 'gantry_http_requests_total', { method: 'POST', route: 'other', status_class: '4xx' })).toBe(1);
    expect(total(samples, 'gantry_http_request_duration_seconds_count')).toBe(36);
    expect(total(samples, 'gantry_http_requests_in_flight')).toBe(0);
    // Bounded labels: the pattern, never the 30 raw paths.
    const routes = new Set(samples.filter((s) => s.name === 'gantry_http_requests_total').map((s) => s.labels.route));
    expect(routes).toEqual(new Set(['/users/:id', '/fail', 'other']));
    // Process metrics from each worker and the primary, kept apart by their worker label.
    const processes = new Set(samples.filter((s) => s.name === 'process_resident_memory_bytes').map((s) => s.labels.worker));
    expect(processes).toEqual(new Set(['1', '2', 'primary']));
    expect(total(samples, 'gantry_workers', { state: 'ready' })).toBe(2);
    expect(total(samples, 'nodejs_eventloop_lag_p99_seconds', { worker: '1' })).toBeGreaterThan(0);
  });

  it("labels a plain node app's requests with the pattern it gave setRoute (from 'gantry')", async () => {
    const { url, metrics } = await serve('apps/routed-app.mjs');
    for (let i = 0; i < 5; i++) await request(`${url}/items/${i}`);
    await request(`${url}/other`);
    const samples = await scrape(metrics);
    expect(total(samples, 'gantry_http_requests_total', { route: '/items/:id' })).toBe(5);
    expect(total(samples, 'gantry_http_requests_total', { route: 'other' })).toBe(1);
  });

  it('keeps totals across replaced workers (max-requests, reload): a sum never goes down', async () => {
    const { proc, url, metrics } = await serve('apps/express-app.mjs', ['--max-requests', '10']);
    for (let i = 0; i < 50; i++) await request(`${url}/users/${i}`);
    // Both first workers were replaced (their successors served the rest).
    await proc.waitFor(/(exited with code 0: stopped[\s\S]*){2}/);
    expect(total(await scrape(metrics), 'gantry_http_requests_total', { route: '/users/:id' })).toBe(50);
    proc.signal('SIGHUP');
    await proc.waitFor(/reload complete[\s\S]*stopped[\s\S]*stopped/);
    await request(`${url}/users/last`);
    const samples = await scrape(metrics);
    expect(total(samples, 'gantry_http_requests_total', { route: '/users/:id' })).toBe(51);
    expect(total(samples, 'gantry_http_request_duration_seconds_count', { route: '/users/:id' })).toBe(51);
  });

  it('counts restarts by reason and reloads by result', async () => {
    const { proc, metrics } = await serve('apps/node-app.mjs');
    const [, pid] = (await proc.waitFor(/worker 1 \(pid (\d+)\) ready/)) as string[];
    process.kill(Number(pid), 'SIGKILL');
    await proc.waitFor(/killed by SIGKILL[\s\S]*worker 1 \(pid \d+\) ready/);
    proc.signal('SIGHUP');
    await proc.waitFor(/reload complete/);
    const samples = await scrape(metrics);
    expect(total(samples, 'gantry_worker_restarts_total', { reason: 'killed' })).toBe(1);
    expect(total(samples, 'gantry_worker_restarts_total', { reason: 'reload' })).toBe(2);
    expect(total(samples, 'gantry_reloads_total', { result: 'succeeded' })).toBe(1);
  });

  it('answers /ready 503 until a worker serves and while stopping, 200 in between; /live always', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const proc = gantry(
      ['serve', '--bind', `127.0.0.1:${port}`, '--metrics-bind', `127.0.0.1:${metricsPort}`, 'apps/slow-boot.mjs'],
      {
        cwd: FIXTURES,
        env: { BOOT_MS: '1500', CLOSE_MS: '1500' },
      },
    );
    const metrics = `http://127.0.0.1:${metricsPort}`;
    await proc.waitFor(/metrics, health and status at/);
    expect((await request(`${metrics}/ready`)).status).toBe(503);
    expect((await request(`${metrics}/live`)).status).toBe(200);
    await proc.waitFor(/listening at/);
    expect((await request(`${metrics}/ready`)).status).toBe(200);
    proc.signal('SIGTERM');
    await proc.waitFor(/SIGTERM: stopping gracefully/);
    expect((await request(`${metrics}/ready`)).status).toBe(503);
    expect((await proc.exit()).code).toBe(0);
  });

  it('sums it up in /status.json for the status page, which /status serves', async () => {
    const { url, metrics } = await serve('apps/node-app.mjs');
    for (let i = 0; i < 7; i++) await request(url);
    const status = JSON.parse((await request(`${metrics}/status.json`)).body) as {
      ready: boolean;
      requests: { total: number; byStatusClass: Record<string, number>; durationBuckets: Record<string, number> };
      workers: { slot: number; state: string; rssBytes: number }[];
    };
    expect(status.ready).toBe(true);
    expect(status.requests.total).toBe(7);
    expect(status.requests.durationBuckets['+Inf']).toBe(7);
    expect(status.workers.map((w) => [w.slot, w.state])).toEqual([
      [1, 'ready'],
      [2, 'ready'],
    ]);
    expect(status.workers.every((w) => w.rssBytes > 10_000_000)).toBe(true);
    const page = await request(`${metrics}/status`);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<title>gantry status</title>');
  });

  it('exports every metric the Grafana dashboard queries', async () => {
    const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'monitoring/grafana/dashboards/gantry.json'), 'utf8')) as {
      panels: { targets?: { expr: string }[] }[];
    };
    const { url, metrics } = await serve('apps/node-app.mjs');
    await request(url);
    const exported = new Set((await scrape(metrics)).map((s) => s.name));
    const queried = new Set(
      dashboard.panels.flatMap((panel) =>
        (panel.targets ?? []).flatMap((target) =>
          // The jobs row's gantry_job* metrics come from gantry run (jobs.test.ts checks those).
          [...target.expr.matchAll(/\b(gantry_(?!job)\w+|process_\w+|nodejs_\w+)/g)].map((m) => m[1]),
        ),
      ),
    );
    expect(queried.size).toBeGreaterThan(8);
    for (const name of queried) expect(exported, name).toContain(name);
  });

  it('refuses a metrics address that is also an app address', async () => {
    const port = await freePort();
    const proc = gantry(['serve', '--bind', `127.0.0.1:${port}`, '--metrics-bind', `127.0.0.1:${port}`, 'apps/node-app.mjs'], {
      cwd: FIXTURES,
    });
    expect((await proc.exit()).code).toBe(2);
    expect(proc.stderr).toContain(`metricsBind (127.0.0.1:${port}) must not be one of the app's bind addresses`);
  });
});
