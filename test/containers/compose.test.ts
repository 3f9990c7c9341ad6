/**
 * The container deployment, built and run for real: both images from the repository's Dockerfiles,
 * docker-compose.yml brought up, and checked through http://127.0.0.1:1337 (nginx) and :8085 (gantry).
 * `npm run test:containers`; see harness.ts for how it runs without a Docker engine.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, waitForHttp } from '../../packages/gantry/test/helpers/http.js';
import { type Engine, PROJECT, compose, containers, docker, startEngine, tearDown, waitHealthy } from './harness.js';

const EDGE = 'http://127.0.0.1:1337';
const DIRECT = 'http://127.0.0.1:8085';
const SECRETS = ['docker-compose.yml', 'docker-compose.secrets.yml'];
const PAGE = /^MSG: (.*)<br\/>\nDB STRING: (.*)<br\/>\nTime: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/;

let engine: Engine;
const timings: Record<string, number> = {};

async function timed<T>(name: string, task: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await task();
  } finally {
    timings[name] = Math.round(performance.now() - started) / 1000;
  }
}

async function up(env: Record<string, string> = {}, files: readonly string[] = [], extra: readonly string[] = []): Promise<void> {
  await tearDown(engine);
  await timed(`up ${JSON.stringify(env)}`, () =>
    compose(engine, [...files.flatMap((f) => ['-f', f]), 'up', '-d', ...extra], env),
  );
  const ids = [...(await containers(engine, 'web', files)), ...(await containers(engine, 'nginx', files))];
  await timed('healthy', () => waitHealthy(engine, ids));
}

async function page(url: string): Promise<[string, string]> {
  const reply = await waitForHttp(url);
  expect(reply.status).toBe(200);
  expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
  const [, msg = '', db = ''] = PAGE.exec(reply.body) ?? [];
  expect(reply.body).toMatch(PAGE);
  return [msg, db];
}

beforeAll(async () => {
  engine = await timed('engine setup', startEngine);
  await timed('build', () => compose(engine, ['build']));
}, 1_200_000);

afterAll(async () => {
  if (!engine) return;
  await tearDown(engine);
  engine.close();
  process.stdout.write(`container test (${engine.kind}, ${engine.compose.join(' ')}): ${JSON.stringify(timings)}\n`);
}, 120_000);

describe('the compose deployment', () => {
  it('turns healthy, serves the Dev page through nginx and directly, static files from nginx, as non-root', async () => {
    await up();
    for (const service of ['web', 'nginx']) {
      const [id = ''] = await containers(engine, service);
      expect(await docker(engine, ['inspect', '--format', '{{.State.Health.Status}}', id])).toBe('healthy');
    }
    expect(await page(`${EDGE}/`)).toEqual(['Inside DEV CONFIG', 'DEV DB STRING']);
    expect(await page(`${DIRECT}/`)).toEqual(['Inside DEV CONFIG', 'DEV DB STRING']);
    const secret = await request(`${EDGE}/static/secret.txt`);
    expect(secret).toMatchObject({ status: 200, body: 'The secret code is 5134\n' });
    expect(secret.headers['cache-control']).toBe('public, max-age=3600');
    // The app image has no static files and no route for them: only nginx serves /static/.
    expect((await request(`${DIRECT}/static/secret.txt`)).status).toBe(404);
    for (const service of ['web', 'nginx']) {
      const [id = ''] = await containers(engine, service);
      expect(Number(await docker(engine, ['exec', id, 'id', '-u']))).toBeGreaterThan(0);
      expect(await docker(engine, ['inspect', '--format', '{{.HostConfig.ReadonlyRootfs}}', id])).toBe('true');
    }
  });

  it('serves metrics and readiness on the compose network only, for Prometheus', async () => {
    const [nginx = ''] = await containers(engine, 'nginx');
    const metrics = await docker(engine, ['exec', nginx, 'curl', '-fsS', 'http://web:9100/metrics']);
    expect(metrics).toMatch(/^gantry_http_requests_total\{method="GET",route="\/",status_class="2xx"\} \d+$/m);
    expect(metrics).toMatch(/^gantry_workers\{state="ready"\} 2$/m);
    expect(await docker(engine, ['exec', nginx, 'curl', '-fsS', 'http://web:9100/ready'])).toBe('ready');
    // Not published: the host cannot reach it.
    await expect(request('http://127.0.0.1:9100/metrics', { timeoutMs: 2000 })).rejects.toThrow();
  });

  it('trusts X-Forwarded-For from nginx only, never from a client reaching :8085', async () => {
    // Connections published from the host arrive from the compose network's gateway: that is the client
    // both ways, whatever the client claims.
    const gateway = await docker(engine, [
      'network',
      'inspect',
      `${PROJECT}_edge`,
      '--format',
      '{{(index .IPAM.Config 0).Gateway}}',
    ]);
    expect(gateway).toMatch(/^172\.30\.80\.\d+$/);
    const spoof = { 'X-Forwarded-For': '6.6.6.6', 'X-Forwarded-Proto': 'https' };
    const direct = JSON.parse((await request(`${DIRECT}/whoami`, { headers: spoof })).body) as Record<string, string>;
    expect(direct).toMatchObject({ client: gateway, scheme: 'http' });
    const viaNginx = JSON.parse((await request(`${EDGE}/whoami`, { headers: spoof })).body) as Record<string, string>;
    // nginx appends the address it saw to the client's X-Forwarded-For; gantry takes the right-most untrusted entry.
    expect(viaNginx).toMatchObject({ client: gateway, scheme: 'http' });
  });

  it("validates the monitoring profile (Prometheus and Grafana) with compose's own config check", async () => {
    const services = (await compose(engine, ['--profile', 'monitoring', 'config', '--services'])).split('\n').filter(Boolean);
    expect(services.sort()).toEqual(['grafana', 'nginx', 'prometheus', 'web']);
    // Only with the profile: both monitoring services carry it in the rendered file.
    const rendered = await compose(engine, ['--profile', 'monitoring', 'config']);
    for (const service of ['prometheus', 'grafana']) {
      expect(rendered).toMatch(new RegExp(`^  ${service}:\\n(?:    .*\\n|      .*\\n)*?    profiles:\\n    - monitoring$`, 'm'));
    }
  });

  it('reaps orphaned processes: PID 1 is tini, and 20 orphans leave no zombie', async () => {
    const [id = ''] = await containers(engine, 'web');
    expect(await docker(engine, ['exec', id, 'cat', '/proc/1/comm'])).toBe('tini');
    // Each `sh -c 'sleep 0.1 &'` exits at once: its sleep is orphaned, reparented to PID 1, and exits.
    await docker(engine, ['exec', id, 'sh', '-c', 'for i in $(seq 20); do sh -c "sleep 0.1 &"; done; sleep 1']);
    // A zombie's /proc/PID/stat reads "PID (name) Z ...".
    const zombies = await docker(engine, ['exec', id, 'sh', '-c', 'grep -l " Z " /proc/[0-9]*/stat 2>/dev/null | wc -l']);
    expect(zombies).toBe('0');
  });

  it('stops on SIGTERM, finishing the request in flight (exit 0, not a kill at the stop timeout)', async () => {
    const [id = ''] = await containers(engine, 'web');
    const inFlight = request(`${DIRECT}/primes?below=200000000`, { timeoutMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const started = performance.now();
    await compose(engine, ['stop', 'web']);
    const seconds = (performance.now() - started) / 1000;
    timings['stop web'] = Math.round(seconds * 1000) / 1000;
    const reply = await inFlight;
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ below: 200_000_000, count: 11_078_937 });
    expect(await docker(engine, ['inspect', '--format', '{{.State.ExitCode}}', id])).toBe('0');
  });

  it('shows the Production page after switching APP_ENV', async () => {
    await up({ APP_ENV: 'Production' });
    expect(await page(`${EDGE}/`)).toEqual(['Inside PRODUCTION CONFIG', 'PRODUCTION DB STRING']);
    expect(await page(`${DIRECT}/`)).toEqual(['Inside PRODUCTION CONFIG', 'PRODUCTION DB STRING']);
  });

  it('reads the connection string from a compose secret, masked on the page and never logged', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'gantry-secret-')), 'db_connection_string');
    await writeFile(file, 'postgres://app:hunter2@db:5432/app\n');
    await up({ DB_CONNECTION_STRING_SECRET: file }, SECRETS);
    expect(await page(`${EDGE}/`)).toEqual(['Inside DEV CONFIG', 'postgres://app:***@db:5432/app']);
    const [id = ''] = await containers(engine, 'web', SECRETS);
    const config = await docker(engine, [
      'exec',
      id,
      'node',
      '/srv/packages/gantry/bin/gantry.js',
      'config',
      'dist/src/config/settings.js',
    ]);
    expect(config).toMatch(
      /^DB_CONNECTION_STRING +\[redacted\] +file \/run\/secrets\/db_connection_string \(DB_CONNECTION_STRING_FILE\)$/m,
    );
    expect(await docker(engine, ['logs', id])).not.toContain('hunter2');
    expect(await docker(engine, ['inspect', '--format', '{{json .Config.Env}}', id])).not.toContain('hunter2');
  });

  it('scales out to three web replicas behind nginx, and requests reach all three', async () => {
    await up({ WEB_PUBLISH: '127.0.0.1::8080' }, [], ['--scale', 'web=3']);
    expect(await containers(engine, 'web')).toHaveLength(3);
    const servers = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const { server } = JSON.parse((await request(`${EDGE}/whoami`)).body) as { server: string };
      servers.set(server, (servers.get(server) ?? 0) + 1);
    }
    // Each of nginx's worker processes balances on its own, so the split is fair rather than exact.
    expect(servers.size).toBe(3);
    for (const count of servers.values()) expect(count).toBeGreaterThanOrEqual(5);
  });
});
