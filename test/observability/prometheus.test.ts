/**
 * A real Prometheus (Debian's package) scrapes a real gantry, and every query of the Grafana dashboard
 * (monitoring/grafana/dashboards/gantry.json) is asked of it: each must return data. The traffic makes
 * every panel non-empty: successes, 5xx, a killed worker, a reload, database queries, export jobs, an
 * open event stream and a refused WebSocket handshake.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { type ClientRequest, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from '../../packages/gantry/test/helpers/http.js';
import { describeWith, onPath, requirement } from '../../packages/gantry/test/helpers/requirements.js';
import { startLoad } from '../../packages/gantry/test/helpers/load.js';
import {
  FIXTURES,
  REPO_ROOT,
  Running,
  cleanEnv,
  cleanUpProcesses,
  freePort,
  gantry,
} from '../../packages/gantry/test/helpers/process.js';
import { migratedDatabase, postJson, serveApp } from '../../app/test/support/app.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';

cleanUpProcesses();

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(() => postgres?.destroy());

const prometheus = requirement(await onPath('prometheus'), 'prometheus (apt-get install prometheus)');

interface PromResponse {
  status: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function query(prometheus: string, expr: string): Promise<PromResponse> {
  return JSON.parse((await request(`${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`)).body) as PromResponse;
}

/** An EventSource's request, held open (a long-lived connection) until the returned request is destroyed. */
function openEventStream(url: string): Promise<ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers: { accept: 'text/event-stream' }, agent: false }, (res) => {
      if (res.statusCode === 200) resolve(req);
      else reject(new Error(`the event stream answered ${res.statusCode}`));
    });
    req.on('error', reject);
  });
}

describeWith(prometheus, 'Prometheus and the Grafana dashboard', () => {
  it('answers every dashboard query with data, scraping a real gantry', async () => {
    const [port, metricsPort, promPort] = [await freePort(), await freePort(), await freePort()];
    const server = gantry(
      ['serve', '--bind', `127.0.0.1:${port}`, '--metrics-bind', `127.0.0.1:${metricsPort}`, 'apps/express-app.mjs'],
      { cwd: FIXTURES },
    );
    await server.waitFor(/listening at/);
    // The example app on a real PostgreSQL, for the database row (app_db_* metrics).
    const appMetricsPort = await freePort();
    const database = await migratedDatabase(postgres);
    const { url: appUrl } = await serveApp(database, ['--metrics-bind', `127.0.0.1:${appMetricsPort}`]);
    // Its job workers, for the jobs row (gantry_job* and app_queue_* metrics).
    const jobsMetricsPort = await freePort();
    const jobs = gantry(
      [
        'run',
        '--metrics-bind',
        `127.0.0.1:${jobsMetricsPort}`,
        '--config',
        'app/dist/gantry.config.js',
        'app/dist/src/jobs/worker.js',
      ],
      { env: { DB_CONNECTION_STRING: database } },
    );
    await jobs.waitFor(/running \d+ job workers/);

    const dir = await mkdtemp(join(tmpdir(), 'gantry-prometheus-'));
    const targets = [metricsPort, appMetricsPort, jobsMetricsPort].map((p) => `'127.0.0.1:${p}'`).join(', ');
    await writeFile(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: gantry\n    static_configs: [{ targets: [${targets}] }]\n`,
    );
    const prometheus = new Running(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { env: cleanEnv(), cwd: dir },
    );
    const api = `http://127.0.0.1:${promPort}`;
    await prometheus.waitFor(/Server is ready to receive web requests/);
    // Traffic only once Prometheus has scraped gantry: increase() counts from its first sample.
    for (let i = 0; i < 100 && (await query(api, 'up{job="gantry"} == 1')).data.result.length < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    // Traffic for every panel: successes, 5xx, a killed worker, a reload.
    const load = startLoad(`http://127.0.0.1:${port}/users/7`, { connections: 4 });
    const writes = startLoad(`${appUrl}/api/messages`, {
      connections: 2,
      method: 'POST',
      contentType: 'application/json',
      body: JSON.stringify({ author: 'prometheus', body: 'a row for the database panels' }),
    });
    const reads = startLoad(`${appUrl}/api/messages?limit=5`, { connections: 2 });
    // The live row: an event stream open through the queries, and a WebSocket handshake without its key.
    const stream = await openEventStream(`${appUrl}/api/messages/stream`);
    const handshake = await request(`${appUrl}/ws`, {
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13' },
    });
    expect(handshake.status).toBe(400);
    for (let i = 0; i < 10; i++) await request(`http://127.0.0.1:${port}/fail`);
    for (let i = 0; i < 10; i++) await request(`http://127.0.0.1:${port}/no-such-page`);
    const [, pid] = (await server.waitFor(/worker 2 \(pid (\d+)\) ready/)) as string[];
    process.kill(Number(pid), 'SIGKILL');
    await server.waitFor(/killed by SIGKILL[\s\S]*worker 2 \(pid \d+\) ready/);
    server.signal('SIGHUP');
    await server.waitFor(/reload complete/);
    for (let i = 0; i < 10; i++) await request(`http://127.0.0.1:${port}/fail`);
    // Exports, a few seconds' worth, for the jobs row.
    for (let i = 0; i < 8; i++) expect((await postJson(`${appUrl}/api/exports`, {})).status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 6000));
    await Promise.all([load.stop(), writes.stop(), reads.stop()]);

    const up = await query(api, 'up{job="gantry"}');
    expect(up.data.result.map((r) => r.value[1])).toEqual(['1', '1', '1']);
    const dashboard = JSON.parse(await readFile(join(REPO_ROOT, 'monitoring/grafana/dashboards/gantry.json'), 'utf8')) as {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets ?? []) {
        // Grafana's $__rate_interval is at least four scrape intervals.
        const answer = await query(api, expr.replaceAll('$__rate_interval', '15s'));
        expect(answer.status, `${panel.title}: ${expr}`).toBe('success');
        expect(answer.data.result.length, `${panel.title}: ${expr} returned no data`).toBeGreaterThan(0);
      }
    }
    // The ten errors answered after the reload are all counted (those the killed worker answered before
    // it died went with it; the drained workers handed theirs to the primary).
    const errors = await query(api, 'sum(gantry_http_requests_total{status_class="5xx"})');
    expect(Number(errors.data.result[0]?.value[1])).toBeGreaterThanOrEqual(10);
    const restarts = await query(api, 'sum by (reason) (gantry_worker_restarts_total)');
    expect(Object.fromEntries(restarts.data.result.map((r) => [r.metric.reason, Number(r.value[1])]))).toMatchObject({
      killed: 1,
      reload: 2,
    });
    const open = await query(api, 'sum(gantry_long_lived_connections{kind="event_stream"})');
    expect(Number(open.data.result[0]?.value[1])).toBe(1);
    const refused = await query(api, 'sum(gantry_long_lived_refused_total{reason="handshake"})');
    expect(Number(refused.data.result[0]?.value[1])).toBe(1);
    stream.destroy();
  });

  it("accepts the compose profile's Prometheus configuration (promtool check config)", () => {
    const out = execFileSync('promtool', ['check', 'config', join(REPO_ROOT, 'monitoring/prometheus.yml')], { encoding: 'utf8' });
    expect(out).toContain('SUCCESS');
  });
});
