/**
 * Exports on the queue, for real: pg-boss on a real PostgreSQL, the web app queuing them and
 * `gantry run` job workers making them; invalid requests refused with no job created. The faults
 * (kills, reloads, stops, a failing job, a database restart) are exports-faults.test.ts's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../packages/gantry/test/helpers/eventually.js';
import { request } from '../../../packages/gantry/test/helpers/http.js';
import { type Running, cleanUpProcesses, gantry } from '../../../packages/gantry/test/helpers/process.js';
import { type TestPostgres, startTestPostgres } from '../../../test/support/postgres.js';
import { json, migratedDatabase, postJson, serveApp } from '../support/app.js';

cleanUpProcesses();

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(() => postgres?.destroy());

const JOBS = ['--config', 'app/dist/gantry.config.js', 'app/dist/src/jobs/worker.js'];

function runJobs(database: string, args: readonly string[] = [], env: Record<string, string> = {}): Running {
  return gantry(['run', '--workers', '1', ...args, ...JOBS], { env: { DB_CONNECTION_STRING: database, ...env } });
}

interface ExportView {
  id: number;
  status: string;
  progress: number;
  attempts: number;
  rows: number | null;
}

/** The export's view, once `done` says so (or the last one at the deadline). */
function exportWhen(url: string, done: (view: ExportView) => boolean, timeoutMs = 60_000): Promise<ExportView> {
  return eventually(async () => json<ExportView>(await request(url)), done, { timeoutMs });
}

async function migratedWithMessages(count: number): Promise<string> {
  const database = await migratedDatabase(postgres);
  await postgres.query(
    "INSERT INTO messages (author, body) SELECT 'author ' || n, 'says \"hi\", ' || n FROM generate_series(1, $1) AS n",
    [count],
    database,
  );
  return database;
}

describe('exports on the queue', () => {
  it('queues an export with its job, a job worker makes it, and the CSV is served', async () => {
    const database = await migratedWithMessages(1200);
    const { url } = await serveApp(database);
    const jobs = runJobs(database);
    await jobs.waitFor(/running 1 job workers/);
    const queued = await postJson(`${url}/api/exports`, {});
    expect(queued.status).toBe(202);
    const { id } = json<ExportView>(queued);
    expect(queued.headers.location).toBe(`/api/exports/${id}`);
    const done = await exportWhen(`${url}/api/exports/${id}`, (view) => view.status === 'completed');
    expect(done).toMatchObject({ status: 'completed', progress: 100, attempts: 1, rows: 1200 });
    const csv = await request(`${url}/api/exports/${id}/download`);
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    const lines = csv.body.trimEnd().split('\n');
    expect(lines).toHaveLength(1201);
    expect(lines[0]).toBe('id,author,body,created_at');
    expect(lines[1]).toMatch(/^1,"author 1","says ""hi"", 1",\d{4}-/);
  });

  it('refuses invalid export requests with problem details and creates no job', async () => {
    const database = await migratedWithMessages(1);
    const { url } = await serveApp(database);
    for (const body of ['{"format":"xlsx"}', '{"format":"csv","rows":5}', '{"format":', '[]']) {
      const reply = await postJson(`${url}/api/exports`, body);
      expect({ body, status: reply.status }).toEqual({ body, status: 400 });
      expect(reply.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    }
    expect((await request(`${url}/api/exports/999`)).status).toBe(404);
    expect(await postgres.query('SELECT count(*)::int AS n FROM exports', [], database)).toEqual([{ n: 0 }]);
    expect(await postgres.query("SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'exports'", [], database)).toEqual([
      { n: 0 },
    ]);
  });
});
