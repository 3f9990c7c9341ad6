/**
 * The container deployment, built and run for real: both images from the repository's Dockerfiles,
 * docker-compose.yml brought up, and checked through http://127.0.0.1:1337 (nginx) and :8085 (gantry).
 * `npm run test:containers`; see harness.ts for how it runs without a Docker engine.
 */
import { execFile } from 'node:child_process';
import { chmod, cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../packages/gantry/test/helpers/eventually.js';
import { request, waitForHttp } from '../../packages/gantry/test/helpers/http.js';
import { REPO_ROOT } from '../../packages/gantry/test/helpers/process.js';
import { type Engine, PROJECT, compose, containers, docker, startEngine, tearDown, waitHealthy } from './harness.js';
import { stopwatch } from '../support/timings.js';
import { type TestSocket, openSocket } from '../support/websocket-client.js';

const EDGE = 'http://127.0.0.1:1337';
const DIRECT = 'http://127.0.0.1:8085';
/** The app's connection string in compose: its role, no password (that comes from a secret). */
const APP_DATABASE = 'postgres://guestbook_app@db:5432/guestbook';
const BROKEN_MIGRATION = ['docker-compose.yml', 'test/containers/broken-migration.yml'];
const PAGE = /^MSG: (.*)<br\/>\nDB STRING: (.*)<br\/>\nTime: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/;

let engine: Engine;
const { timings, timed } = stopwatch();

async function up(env: Record<string, string> = {}, files: readonly string[] = [], extra: readonly string[] = []): Promise<void> {
  await tearDown(engine);
  await timed(`up ${JSON.stringify(env)}`, () =>
    compose(engine, [...files.flatMap((f) => ['-f', f]), 'up', '-d', ...extra], env),
  );
  const ids = [
    ...(await containers(engine, 'db', files)),
    ...(await containers(engine, 'web', files)),
    ...(await containers(engine, 'jobs', files)),
    ...(await containers(engine, 'nginx', files)),
  ];
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

/** psql in the db container, as `user` over TCP (so with its password, as a client would). */
async function psql(user: 'guestbook_owner' | 'guestbook_app', sql: string): Promise<string> {
  const [db = ''] = await containers(engine, 'db');
  const password = (
    await readFile(join(REPO_ROOT, 'secrets', user === 'guestbook_owner' ? 'db_owner_password' : 'db_app_password'), 'utf8')
  ).trim();
  return docker(engine, [
    'exec',
    '-e',
    `PGPASSWORD=${password}`,
    db,
    'psql',
    '-h',
    '127.0.0.1',
    '-U',
    user,
    '-d',
    'guestbook',
    '-tAc',
    sql,
  ]);
}

beforeAll(async () => {
  // The database passwords: created once (secrets/ is git-ignored), as a user would.
  await promisify(execFile)('sh', [join(REPO_ROOT, 'deploy/compose-secrets.sh')]);
  engine = await timed('engine setup', startEngine);
  await timed('build', () => compose(engine, ['build']));
}, 1_200_000);

// A failure in a container shows as a status code here; its reason is in the services' logs, which
// the teardown of the next test removes: they are printed now, while the containers still exist.
afterEach(async ({ task }) => {
  if (!engine || task.result?.state !== 'fail') return;
  const logs = await compose(engine, ['logs', '--no-color', '--tail', '60']).catch((error: Error) => error.message);
  process.stdout.write(`the services' last log lines after "${task.name}" failed:\n${logs}\n`);
}, 60_000);

afterAll(async () => {
  if (!engine) return;
  await tearDown(engine);
  engine.close();
  process.stdout.write(`container test (${engine.kind}, ${engine.compose.join(' ')}): ${JSON.stringify(timings)}\n`);
}, 120_000);

describe('the compose deployment', () => {
  it('turns healthy, serves the Dev page through nginx and directly, static files from nginx, as non-root', async () => {
    await up();
    for (const service of ['db', 'web', 'nginx']) {
      const [id = ''] = await containers(engine, service);
      expect(await docker(engine, ['inspect', '--format', '{{.State.Health.Status}}', id])).toBe('healthy');
    }
    expect(await page(`${EDGE}/`)).toEqual(['Inside DEV CONFIG', APP_DATABASE]);
    expect(await page(`${DIRECT}/`)).toEqual(['Inside DEV CONFIG', APP_DATABASE]);
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
    expect(services.sort()).toEqual(['db', 'grafana', 'jobs', 'migrate', 'nginx', 'prometheus', 'web']);
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
    expect(await page(`${EDGE}/`)).toEqual(['Inside PRODUCTION CONFIG', APP_DATABASE]);
    expect(await page(`${DIRECT}/`)).toEqual(['Inside PRODUCTION CONFIG', APP_DATABASE]);
  });

  it("serves the guestbook's built frontend from the nginx image: hashed, immutable, gzipped; the page no-cache", async () => {
    await up();
    const page = await request(`${EDGE}/guestbook`);
    expect(page.status).toBe(200);
    expect(page.headers['cache-control']).toBe('no-cache');
    const assets = [...page.body.matchAll(/(?:src|href)="(\/static\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toHaveLength(2);
    for (const asset of assets) {
      const reply = await request(`${EDGE}${asset}`, { headers: { 'accept-encoding': 'gzip' } });
      expect({ asset, status: reply.status }).toEqual({ asset, status: 200 });
      expect(reply.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(reply.headers['content-encoding']).toBe('gzip');
    }
    // The web image has the same build, for a page of another release that nginx lacks (deploy skew).
    expect((await request(`${DIRECT}${assets[0]}`)).status).toBe(200);
  });

  it('stores guestbook messages in the db service, migrated once by the one-shot migrate service', async () => {
    await up();
    const posted = await request(`${EDGE}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ author: 'compose', body: 'through nginx, gantry and PostgreSQL' }),
    });
    expect(posted.status).toBe(201);
    const listed = JSON.parse((await request(`${DIRECT}/api/messages`)).body) as { messages: { body: string }[] };
    expect(listed.messages.map((m) => m.body)).toEqual(['through nginx, gantry and PostgreSQL']);
    const [migrate = ''] = await containers(engine, 'migrate');
    expect(await docker(engine, ['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', migrate])).toBe('exited 0');
    expect(await docker(engine, ['logs', migrate])).toContain('migration 0001_create_messages: applied');
    expect(await psql('guestbook_owner', 'SELECT count(*) FROM messages')).toBe('1');
  });

  it('runs the jobs service (gantry run): an export queued through nginx is made by it; it stops gracefully', async () => {
    const queued = await request(`${EDGE}/api/exports`, { method: 'POST' });
    expect(queued.status).toBe(202);
    const location = queued.headers.location as string;
    const view = await eventually(
      async () => JSON.parse((await request(`${EDGE}${location}`)).body) as { status: string },
      (exported) => exported.status === 'completed',
    );
    expect(view).toMatchObject({ status: 'completed', rows: 1 });
    const csv = await request(`${EDGE}${location}/download`);
    expect(csv.body).toContain('"through nginx, gantry and PostgreSQL"');
    const [jobs = ''] = await containers(engine, 'jobs');
    expect(await docker(engine, ['inspect', '--format', '{{.State.Health.Status}}', jobs])).toBe('healthy');
    await compose(engine, ['stop', 'jobs']);
    expect(await docker(engine, ['inspect', '--format', '{{.State.ExitCode}}', jobs])).toBe('0');
    expect(await docker(engine, ['logs', jobs])).toMatch(/running 1 job workers|running 2 job workers/);
  });

  it('keeps the passwords in secrets: the app role reads and writes rows but cannot change the schema', async () => {
    await expect(psql('guestbook_app', 'CREATE TABLE intruder (id int)')).rejects.toThrow(/permission denied for schema public/);
    expect(await psql('guestbook_app', 'SELECT count(*) FROM messages')).toBe('1');
    const [web = ''] = await containers(engine, 'web');
    const config = await docker(engine, [
      'exec',
      web,
      'node',
      '/srv/packages/gantry/bin/gantry.js',
      'config',
      'dist/src/config/settings.js',
    ]);
    expect(config).toMatch(/^DB_PASSWORD +\[redacted\] +file \/run\/secrets\/db_app_password \(DB_PASSWORD_FILE\)$/m);
    const passwords = await Promise.all(
      ['db_owner_password', 'db_app_password'].map(async (name) =>
        (await readFile(join(REPO_ROOT, 'secrets', name), 'utf8')).trim(),
      ),
    );
    for (const service of ['db', 'migrate', 'web', 'jobs']) {
      const [id = ''] = await containers(engine, service);
      const seen =
        (await docker(engine, ['logs', id])) + (await docker(engine, ['inspect', '--format', '{{json .Config.Env}}', id]));
      for (const password of passwords) expect(seen).not.toContain(password);
    }
    // The database is not published on the host.
    const [db = ''] = await containers(engine, 'db');
    const bindings = JSON.parse(await docker(engine, ['inspect', '--format', '{{json .HostConfig.PortBindings}}', db])) as Record<
      string,
      unknown[] | null
    > | null;
    for (const binding of Object.values(bindings ?? {})) expect(binding ?? []).toEqual([]);
  });

  it('a failing migration stops the deploy with its error, and the data is untouched', async () => {
    const broken = await mkdtemp(join(tmpdir(), 'gantry-broken-migrations-'));
    // Readable by the image's user (node), as app/migrations is in the image.
    await chmod(broken, 0o755);
    await cp(join(REPO_ROOT, 'app/migrations'), broken, { recursive: true });
    await writeFile(
      join(broken, '0099_broken.sql'),
      'ALTER TABLE messages ADD COLUMN mood text;\nUPDATE messages SET mood = (1 / 0)::text;\n',
    );
    // The next deploy: the containers go, the database volume stays (podman cannot `up` over a running
    // project whose networks it created; see harness.ts).
    await compose(engine, ['down']);
    await expect(
      compose(engine, [...BROKEN_MIGRATION.flatMap((f) => ['-f', f]), 'up', '-d'], { BROKEN_MIGRATIONS: broken }),
    ).rejects.toThrow(/migrate/);
    const [migrate = ''] = await containers(engine, 'migrate');
    expect(await docker(engine, ['inspect', '--format', '{{.State.ExitCode}}', migrate])).toBe('1');
    expect(await docker(engine, ['logs', migrate])).toContain('division by zero');
    expect(await psql('guestbook_owner', 'SELECT count(*) FROM messages')).toBe('1');
    expect(await psql('guestbook_owner', "SELECT count(*) FROM information_schema.columns WHERE column_name = 'mood'")).toBe('0');
    // The deploy stopped there: nothing serves the app, and no web container was started.
    await expect(request(`${DIRECT}/`, { timeoutMs: 2000 })).rejects.toThrow();
    for (const id of await containers(engine, 'web')) {
      expect(await docker(engine, ['inspect', '--format', '{{.State.StartedAt}}', id])).toMatch(/^0001-01-01/);
    }
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

    // The live feed through nginx: a message posted through one replica reaches WebSockets on all three
    // (each replica's workers hear the database's NOTIFY).
    const feeds: TestSocket[] = [];
    const reached = new Set<string>();
    while (reached.size < 3 && feeds.length < 60) {
      const feed = await openSocket(`${EDGE.replace('http:', 'ws:')}/ws`);
      reached.add((JSON.parse(await feed.message(/"welcome"/)) as { server: string }).server);
      feeds.push(feed);
    }
    expect(reached.size).toBe(3);
    const posted = performance.now();
    // A replica that cannot reach the database answers 503 with Retry-After, and a client tries again
    // then; its feeds read what they missed once it can. Podman's networks here have held back a new
    // replica's connections to db for half a minute after nginx joined, while it counted as healthy.
    const reply = await eventually(
      () =>
        request(`${EDGE}/api/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ author: 'compose', body: 'to every replica' }),
        }),
      (answer) => answer.status !== 503 || answer.headers['retry-after'] === undefined,
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(reply.status).toBe(201);
    await Promise.all(feeds.map((feed) => feed.message(/"to every replica"/, 60_000)));
    timings["live feed: post to the last of all replicas' sockets (s)"] = Math.round(performance.now() - posted) / 1000;
    for (const feed of feeds) feed.socket.close(1000);
  });

  it('serves HTTPS and HTTP/2 with the TLS overlay: the certificate from secrets, HSTS, plain HTTP redirected', async () => {
    await up({}, ['docker-compose.yml', 'docker-compose.tls.yml']);
    const certificate = join(REPO_ROOT, 'secrets', 'tls_certificate');
    const run = promisify(execFile);
    const curl = await run('curl', [
      '-sS',
      '--http2',
      '--cacert',
      certificate,
      '-D',
      '-',
      '-o',
      '/dev/null',
      'https://localhost:1337/',
    ]);
    expect(curl.stdout).toMatch(/^HTTP\/2 200/);
    expect(curl.stdout).toMatch(/\r\nstrict-transport-security: max-age=31536000\r\n/);
    const plain = await fetch(`${EDGE}/guestbook`, { redirect: 'manual' });
    expect(plain.status).toBe(301);
    expect(plain.headers.get('location')).toBe('https://127.0.0.1:1337/guestbook');
  });
});
