/**
 * The seed's deployment, end to end: `gantry stack` runs real nginx in front of the real gantry server
 * running the example app (built: npm run build), on free loopback ports.
 */
import { Agent, request as httpRequest } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../../../packages/gantry/test/helpers/eventually.js';
import { request } from '../../../packages/gantry/test/helpers/http.js';
import { alive } from '../../../packages/gantry/src/stack/leftover.js';
import { cleanUpProcesses, freePort, gantry } from '../../../packages/gantry/test/helpers/process.js';
import { describeWith } from '../../../packages/gantry/test/helpers/requirements.js';
import { type Stack, nginx, startStack } from '../../../packages/gantry/test/helpers/stack.js';
import { type TestPostgres, startTestPostgres } from '../../../test/support/postgres.js';
import { APP, MIGRATE, json, migratedDatabase } from '../support/app.js';

cleanUpProcesses();

let postgres: TestPostgres;
/** The database the stack's app uses (migrated), and its URL with the password masked as the page shows it. */
let database: { url: string; masked: string };
beforeAll(async () => {
  postgres = await startTestPostgres();
  const url = await migratedDatabase(postgres);
  database = { url, masked: url.replace(':gantry@', ':***@') };
});
afterAll(() => postgres?.destroy());

/** What `npm start` adds to the app: a database when none is set, and the migrations before the server. */
const DATABASE = ['--database-env', 'DB_CONNECTION_STRING', '--release', `node ${MIGRATE}`];

function withDatabase(env: Record<string, string> = {}): Record<string, string> {
  return { DB_CONNECTION_STRING: database.url, ...env };
}
const PAGE = /^MSG: (.*)<br\/>\nDB STRING: (.*)<br\/>\nTime: (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d)$/;

async function page(url: string): Promise<{ msg: string; db: string; time: Date }> {
  const reply = await request(url);
  expect(reply.status).toBe(200);
  expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
  const [, msg = '', db = '', time = ''] = PAGE.exec(reply.body) ?? [];
  expect(reply.body).toMatch(PAGE);
  return { msg, db, time: new Date(time) };
}

async function both(stack: Stack) {
  return [await page(`${stack.edge}/`), await page(`${stack.direct}/`)];
}

describeWith(nginx, 'the example app on the local stack', () => {
  it('shows the Dev page through nginx and directly, with the time and its offset', async () => {
    const stack = await startStack(['--access-log', '-', ...DATABASE, ...APP], withDatabase());
    for (const view of await both(stack)) {
      expect(view).toMatchObject({ msg: 'Inside DEV CONFIG', db: database.masked });
      expect(Math.abs(view.time.getTime() - Date.now())).toBeLessThan(10_000);
    }
  });

  it('shows the Production page with APP_ENV=Production', async () => {
    const stack = await startStack(APP, withDatabase({ APP_ENV: 'Production' }));
    for (const view of await both(stack)) expect(view).toMatchObject({ msg: 'Inside PRODUCTION CONFIG', db: database.masked });
  });

  it('refuses to start in Production without DB_CONNECTION_STRING: exit 2, naming it', async () => {
    const proc = gantry(['stack', '--nginx-port', '1', ...APP], { env: { APP_ENV: 'Production' } });
    expect((await proc.exit()).code).toBe(2);
    expect(proc.stderr).toMatch(/DB_CONNECTION_STRING/);
  });

  it('takes overrides from the environment, masking a password in the connection string', async () => {
    await postgres.query("CREATE ROLE app LOGIN PASSWORD 'hunter2'");
    await postgres.query('GRANT SELECT ON ALL TABLES IN SCHEMA public TO app', [], database.url);
    const url = new URL(database.url);
    url.username = 'app';
    url.password = 'hunter2';
    const stack = await startStack(APP, { MSG: 'hello <world>', DB_CONNECTION_STRING: url.href });
    for (const view of await both(stack)) {
      expect(view).toMatchObject({ msg: 'hello &lt;world&gt;', db: url.href.replace(':hunter2@', ':***@') });
    }
    expect(stack.proc.output).not.toContain('hunter2');
  });

  it('serves /static/secret.txt from nginx; the app never sees it', async () => {
    const stack = await startStack(['--access-log', '-', ...APP], withDatabase());
    const reply = await request(`${stack.edge}/static/secret.txt`);
    expect(reply.status).toBe(200);
    expect(reply.body.trim()).toBe('The secret code is 5134');
    expect(reply.headers['cache-control']).toBe('public, max-age=3600');
    expect(reply.headers['x-content-type-options']).toBe('nosniff');
    // A request id is returned only where the app's logs carry it.
    expect(reply.headers['x-request-id']).toBeUndefined();
    expect((await request(`${stack.edge}/`)).headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    // The access log of gantry shows the page request, and no request for the static file.
    await stack.proc.waitFor(/"GET \/ HTTP\/1\.1" 200/);
    expect(stack.proc.stdout).not.toContain('/static/');
    // Directly, the app has no such route.
    expect((await request(`${stack.direct}/static/secret.txt`)).status).toBe(404);
  });

  it("keeps gantry's health answers off the edge: nginx 404, the server's own port 200", async () => {
    const stack = await startStack(APP, withDatabase());
    expect((await request(`${stack.edge}/_gantry/ready`)).status).toBe(404);
    expect((await request(`${stack.direct}/_gantry/ready`)).status).toBe(200);
  });

  it('sees the client address and scheme nginx vouches for, never what the client claims', async () => {
    const stack = await startStack(APP, withDatabase());
    const spoof = { 'X-Forwarded-For': '6.6.6.6', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'evil.example' };
    const viaNginx = JSON.parse((await request(`${stack.edge}/whoami`, { headers: spoof })).body) as Record<string, string>;
    expect(viaNginx).toMatchObject({ client: '127.0.0.1', scheme: 'http', host: '127.0.0.1' });
  });

  it('strips X-Forwarded-* from an untrusted peer reaching the app port directly', async () => {
    const stack = await startStack(APP, withDatabase());
    const spoof = { 'X-Forwarded-For': '6.6.6.6', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'evil.example' };
    const untrusted = await request(`${stack.direct}/whoami`, { headers: spoof, localAddress: '127.0.0.2' });
    const { port } = new URL(stack.direct);
    expect(JSON.parse(untrusted.body)).toMatchObject({ client: '127.0.0.2', scheme: 'http', host: `127.0.0.1:${port}` });
    // The same headers from a trusted peer (loopback, like nginx) are believed.
    const trusted = await request(`${stack.direct}/whoami`, { headers: { 'X-Forwarded-Proto': 'https' } });
    expect(JSON.parse(trusted.body)).toMatchObject({ scheme: 'https' });
  });

  it('replaces a killed worker and keeps answering through nginx', async () => {
    const stack = await startStack(APP, withDatabase());
    const [, pid] = (await stack.proc.waitFor(/worker 1 \(pid (\d+)\) ready/)) as string[];
    process.kill(Number(pid), 'SIGKILL');
    await stack.proc.waitFor(/killed by SIGKILL[\s\S]*worker 1 \(pid \d+\) ready/);
    for (let i = 0; i < 20; i++) expect((await request(`${stack.edge}/`)).status).toBe(200);
  });

  it('stops with exit 2 and the list of profiles on an unknown APP_ENV', async () => {
    const proc = gantry(['stack', '--nginx-port', '1', ...APP], { env: { APP_ENV: 'Staging' } });
    expect((await proc.exit()).code).toBe(2);
    expect(proc.stderr).toContain('APP_ENV: "Staging" is not a profile; expected one of Base, Dev, Production');
    expect(proc.stderr.match(/is not a profile/g)).toHaveLength(1);
  });
});

describeWith(nginx, 'logs on the local stack', () => {
  it("carry nginx's request id into gantry's access log and the app's lines, and never a secret", async () => {
    const stack = await startStack(['--access-log', '-', '--access-log-format', 'json', ...APP], {
      APP_ENV: 'Production',
      LOG_LEVEL: 'debug',
      DB_CONNECTION_STRING: database.url,
    });
    const reply = await request(`${stack.edge}/primes?below=1000`);
    const requestId = reply.headers['x-request-id'] as string;
    expect(requestId).toMatch(/^[0-9a-f]{32}$/);
    await request(`${stack.edge}/missing`);
    await request(`${stack.direct}/`, { headers: { 'X-Forwarded-For': '6.6.6.6' } });
    const appLine = await stack.proc.waitFor(new RegExp(`^\\{.*"request_id":"${requestId}".*"msg":"counted primes".*\\}$`, 'm'));
    expect(JSON.parse(appLine[0])).toMatchObject({ level: 30, request_id: requestId, below: 1000, count: 168 });
    // gantry's access log line (the app's debug lines name the URL too).
    const accessLine = await stack.proc.waitFor(new RegExp(`^\\{.*"url":"/primes\\?below=1000".*"duration_ms".*\\}$`, 'm'));
    expect(JSON.parse(accessLine[0])).toMatchObject({ request_id: requestId, status: 200, client: '127.0.0.1' });
    // Production logs are JSON lines (gantry's and the app's), and no line shows the secret.
    await stack.proc.waitFor(/"msg":"configuration loaded"/);
    expect(stack.proc.output).toContain('"DB_CONNECTION_STRING":"[redacted]"');
    expect(stack.proc.output).not.toContain(':gantry@');
  });
});

describeWith(nginx, 'the database on the local stack', () => {
  it('npm start without DB_CONNECTION_STRING: a local PostgreSQL, migrated, kept between runs, stopped with the stack', async () => {
    // A port of its own: a developer's `npm start` may hold the default one.
    const local = [...DATABASE, '--database-port', String(await freePort()), '--jobs', 'app/dist/src/jobs/worker.js'];
    const first = await startStack([...local, ...APP]);
    expect(first.proc.output).toMatch(/DB_CONNECTION_STRING is unset: a local PostgreSQL 18 serves the app/);
    expect(first.proc.output).toContain('migration 0001_create_messages: applied');
    const posted = await request(`${first.edge}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ author: 'first run', body: 'still here after a restart' }),
    });
    expect(posted.status).toBe(201);
    // Its job worker (gantry run) makes an export.
    expect(first.proc.output).toContain('job workers: 1 x app/dist/src/jobs/worker.js (gantry run)');
    const queued = await request(`${first.edge}/api/exports`, { method: 'POST' });
    expect(queued.status).toBe(202);
    const exported = await eventually(
      async () => json<{ status: string }>(await request(`${first.edge}${String(queued.headers.location)}`)),
      (view) => view.status === 'completed',
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(exported).toMatchObject({ status: 'completed', rows: 1 });
    first.proc.signal('SIGTERM');
    expect((await first.proc.exit()).code).toBe(0);
    // No server is left on the data directory.
    expect(await postmasterRunning(first.runDir)).toBe(false);

    const second = await startStack([...local, ...APP], {}, { runDir: first.runDir });
    expect(second.proc.output).toContain('the schema is up to date');
    const listed = json<{ messages: { body: string }[] }>(await request(`${second.edge}/api/messages`));
    expect(listed.messages.map((m) => m.body)).toEqual(['still here after a restart']);
    second.proc.signal('SIGINT');
    expect((await second.proc.exit()).code).toBe(0);
    expect(await postmasterRunning(first.runDir)).toBe(false);
  });

  it('2,000 POSTs from 64 connections through nginx: exactly 2,000 rows', async () => {
    const url = await postgres.freshDatabase();
    const stack = await startStack([...DATABASE, ...APP], { DB_CONNECTION_STRING: url });
    expect(stack.proc.output).toContain('DB_CONNECTION_STRING is set: the app uses that database (the stack starts none)');
    const statuses = await postConcurrently(`${stack.edge}/api/messages`, 2000, 64);
    expect(statuses).toEqual({ 201: 2000 });
    const [row] = await postgres.query<{ count: string; distinct: string }>(
      'SELECT count(*) AS count, count(DISTINCT body) AS distinct FROM messages',
      [],
      url,
    );
    expect(row).toEqual({ count: '2000', distinct: '2000' });
  });

  it('SIGTERM during the release stops it and the local database, starts nothing, exits 0', async () => {
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const runDir = await mkdtemp(`${tmpdir()}/gantry-stack-`);
    const stack = gantry([
      'stack',
      '--nginx-port',
      '1',
      '--run-dir',
      runDir,
      '--database-env',
      'DB_CONNECTION_STRING',
      '--database-port',
      String(await freePort()),
      '--release',
      'sleep 30',
      ...APP,
    ]);
    await stack.waitFor(/release: sleep 30/);
    stack.signal('SIGTERM');
    expect((await stack.exit()).code).toBe(0);
    expect(stack.output).not.toMatch(/worker \d+ \(pid \d+\) booting/);
    expect(await postmasterRunning(runDir)).toBe(false);
  });

  it('a failing release (migration) stops the stack with its error and starts no server', async () => {
    const stack = gantry(['stack', '--nginx-port', '1', '--release', 'node -e "process.exit(7)"', ...APP], {
      env: withDatabase(),
    });
    expect((await stack.exit()).code).toBe(1);
    expect(stack.stderr).toContain(
      'The release command (node -e "process.exit(7)") exited with code 7: the server was not started.',
    );
    expect(stack.output).not.toMatch(/worker \d+ \(pid \d+\) booting/);
  });
});

/** Whether a PostgreSQL still runs on the stack's data directory (its postmaster.pid names a live process). */
async function postmasterRunning(runDir: string): Promise<boolean> {
  const { readFile } = await import('node:fs/promises');
  const pid = Number((await readFile(`${runDir}/postgres/data/postmaster.pid`, 'utf8').catch(() => '')).split('\n')[0]);
  return pid > 0 && alive(pid);
}

/** `total` POSTs of distinct messages over `connections` keep-alive connections; the count of each status. */
async function postConcurrently(url: string, total: number, connections: number): Promise<Record<number, number>> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const statuses: Record<number, number> = {};
  let next = 0;
  const client = async () => {
    while (next < total) {
      const n = next++;
      const reply = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ author: 'load', body: `message ${n}` }));
      });
      statuses[reply] = (statuses[reply] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: connections }, client));
  agent.destroy();
  return statuses;
}
