/**
 * The queue's faults, for real: pg-boss on a real PostgreSQL, `gantry run` job workers killed, reloaded,
 * stopped mid-job and cut off from the database, and a job that keeps throwing. What must hold: every
 * export completes exactly once (one row, one CSV of every message), none stays stuck, a failing job is
 * retried with backoff and then shown failed with its error, and the job workers stay up.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../packages/gantry/test/helpers/eventually.js';
import { request } from '../../../packages/gantry/test/helpers/http.js';
import { type Running, cleanUpProcesses, freePort, gantry } from '../../../packages/gantry/test/helpers/process.js';
import { parsePrometheus, total } from '../../../packages/gantry/test/helpers/prometheus-text.js';
import { type TestPostgres, startTestPostgres } from '../../../test/support/postgres.js';
import { openEventStream } from '../../../test/support/websocket-client.js';
import { json, migratedDatabase, postJson, serveApp } from '../support/app.js';

cleanUpProcesses();

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(() => postgres?.destroy());

const JOBS = ['--config', 'app/dist/gantry.config.js', 'app/dist/src/jobs/worker.js'];

interface JobWorkers {
  readonly proc: Running;
  readonly metrics: string;
}

async function runJobs(
  database: string,
  { workers = 1, args = [], env = {} }: { workers?: number; args?: readonly string[]; env?: Record<string, string> } = {},
): Promise<JobWorkers> {
  const metricsPort = await freePort();
  const proc = gantry(['run', '--workers', String(workers), '--metrics-bind', `127.0.0.1:${metricsPort}`, ...args, ...JOBS], {
    env: { DB_CONNECTION_STRING: database, ...env },
  });
  await proc.waitFor(new RegExp(`running ${workers} job workers`));
  return { proc, metrics: `http://127.0.0.1:${metricsPort}` };
}

/** The job workers' processes now: the primary's children. */
function workerPids(primary: Running): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(primary.pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map(Number);
  } catch {
    return [];
  }
}

interface ExportRow {
  id: number;
  status: string;
  attempts: number;
  rows_written: number | null;
  lines: number | null;
  error: string | null;
  started_at: Date | null;
}

function exportRows(database: string): Promise<ExportRow[]> {
  return postgres.query<ExportRow>(
    `SELECT id, status, attempts, rows_written, error, started_at,
            array_length(string_to_array(rtrim(csv, E'\\n'), E'\\n'), 1) AS lines
       FROM exports ORDER BY id`,
    [],
    database,
  );
}

function jobStates(database: string): Promise<{ state: string; n: number }[]> {
  return postgres.query(
    "SELECT state, count(*)::int AS n FROM pgboss.job WHERE name = 'exports' GROUP BY state ORDER BY state",
    [],
    database,
  );
}

async function migratedWithMessages(count: number): Promise<string> {
  const database = await migratedDatabase(postgres);
  await postgres.query(
    "INSERT INTO messages (author, body) SELECT 'author ' || n, 'message ' || n FROM generate_series(1, $1) AS n",
    [count],
    database,
  );
  return database;
}

async function queueExports(url: string, count: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const reply = await postJson(`${url}/api/exports`, {});
    expect(reply.status).toBe(202);
    ids.push(json<{ id: number }>(reply).id);
  }
  return ids;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

describe('the queue under faults', () => {
  it('500 exports through three SIGKILLs and two SIGHUPs of the job workers: every one completes, once', async () => {
    const database = await migratedWithMessages(40);
    const { url } = await serveApp(database);
    // 4 batches of 10 with 25 ms between them: each export takes long enough to be killed mid-way.
    const jobs = await runJobs(database, { workers: 2, env: { EXPORT_BATCH_SIZE: '10', EXPORT_BATCH_DELAY_MS: '25' } });
    const ids = await queueExports(url, 500);
    const kills: number[] = [];
    for (const fault of ['SIGKILL', 'SIGHUP', 'SIGKILL', 'SIGHUP', 'SIGKILL'] as const) {
      await sleep(1500 + Math.random() * 1500);
      if (fault === 'SIGHUP') {
        const reloads = jobs.proc.matches(/reload complete/g).length;
        jobs.proc.signal('SIGHUP');
        // The next kill must find a worker at work: not an old one done draining, nor a new one still booting.
        await eventually(
          () => Promise.resolve(jobs.proc.matches(/reload complete/g).length > reloads && workerPids(jobs.proc).length === 2),
          (settled) => settled,
          { timeoutMs: 30_000 },
        );
        continue;
      }
      const pids = workerPids(jobs.proc);
      const victim = pids[Math.floor(Math.random() * pids.length)];
      expect(victim, 'a job worker to kill').toBeDefined();
      kills.push(Date.now());
      process.kill(victim!, 'SIGKILL');
    }
    const rows = await eventually(
      () => exportRows(database),
      (all) => all.every((row) => row.status === 'completed'),
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(rows.map((row) => row.id)).toEqual(ids);
    expect(rows.filter((row) => row.status !== 'completed')).toEqual([]);
    // One result each: the CSV has the header and every message, and the row its count.
    expect(rows.filter((row) => row.lines !== 41 || row.rows_written !== 40)).toEqual([]);
    // One job each, all completed: nothing retried twice into a second job, nothing left active.
    expect(await jobStates(database)).toEqual([{ state: 'completed', n: 500 }]);
    expect(jobs.proc.matches(/killed by SIGKILL/g)).toHaveLength(3);
    expect(jobs.proc.matches(/reload complete/g)).toHaveLength(2);
    // Kill to retry: a retried export's last attempt started after the kill that cut its first one short.
    const retried = rows.filter((row) => row.attempts > 1);
    const delays = retried.map((row) => {
      const started = row.started_at!.getTime();
      const kill = kills.filter((at) => at < started).at(-1)!;
      return (started - kill) / 1000;
    });
    process.stdout.write(
      `500 exports, 3 kills, 2 reloads: ${retried.length} retried after a kill, kill to retry ` +
        `median ${median(delays).toFixed(1)} s, max ${Math.max(...delays).toFixed(1)} s\n`,
    );
    expect(retried.length).toBeGreaterThanOrEqual(1);
    expect(jobs.proc.output).not.toMatch(/crash loop|not ready/);
  }, 180_000);

  it('SIGTERM during a job: the job finishes within the graceful timeout, then the server exits 0', async () => {
    const database = await migratedWithMessages(1000);
    const { url } = await serveApp(database);
    // 10 batches, 200 ms apart: about 2 s of work, inside a 20 s graceful timeout.
    const jobs = await runJobs(database, {
      args: ['--graceful-timeout', '20'],
      env: { EXPORT_BATCH_SIZE: '100', EXPORT_BATCH_DELAY_MS: '200' },
    });
    const [id] = await queueExports(url, 1);
    await eventually(
      async () => (await exportRows(database))[0]!,
      (row) => row.status === 'active',
    );
    jobs.proc.signal('SIGTERM');
    const exit = await jobs.proc.exit(30_000);
    const stoppedAt = Date.now();
    expect(exit.code).toBe(0);
    const [row] = await exportRows(database);
    expect(row).toMatchObject({ id, status: 'completed', attempts: 1, lines: 1001 });
    const [finished] = await postgres.query<{ at: Date }>('SELECT completed_at AS at FROM exports', [], database);
    expect(finished!.at.getTime()).toBeLessThan(stoppedAt);
  }, 60_000);

  it('SIGTERM during a job longer than the graceful timeout: released to the queue, completed by the next worker', async () => {
    const database = await migratedWithMessages(2000);
    const { url } = await serveApp(database);
    // 20 batches, 300 ms apart: 6 s of work against a 2 s graceful timeout.
    const slow = { EXPORT_BATCH_SIZE: '100', EXPORT_BATCH_DELAY_MS: '300' };
    const first = await runJobs(database, { args: ['--graceful-timeout', '2'], env: slow });
    const [id] = await queueExports(url, 1);
    await eventually(
      async () => (await exportRows(database))[0]!,
      (row) => row.status === 'active',
    );
    first.proc.signal('SIGTERM');
    expect((await first.proc.exit(15_000)).code).toBe(0);
    // Released, not lost, nothing half-written: queued again for a retry, with no CSV yet.
    const [released] = await exportRows(database);
    expect(released).toMatchObject({ status: 'queued', attempts: 1, lines: null });
    expect(await jobStates(database)).toEqual([{ state: 'retry', n: 1 }]);
    await runJobs(database, { env: slow });
    const done = await eventually(
      async () => (await exportRows(database))[0]!,
      (row) => row.status === 'completed',
      { timeoutMs: 30_000 },
    );
    expect(done).toMatchObject({ id, status: 'completed', attempts: 2, lines: 2001, rows_written: 2000 });
  }, 60_000);

  it('a job that keeps throwing: retried with backoff, dead-lettered, shown failed with its error; the worker stays up', async () => {
    const database = await migratedWithMessages(10);
    const { url } = await serveApp(database);
    const jobs = await runJobs(database);
    const [pid] = workerPids(jobs.proc);
    // A real failure, not a test switch: the table the job reads is gone.
    await postgres.query('ALTER TABLE messages RENAME TO messages_moved', [], database);
    const [id] = await queueExports(url, 1);
    const failed = await eventually(
      async () => json<{ status: string; attempts: number; error: string | null }>(await request(`${url}/api/exports/${id}`)),
      (view) => view.status === 'failed',
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(failed).toMatchObject({ status: 'failed', attempts: 4 });
    expect(failed.error).toBe('gave up after 4 attempts: relation "messages" does not exist');
    // Backoff: each attempt waited at least its floor (1, 2, 4 s: pg-boss's exponential delay, jittered up).
    const attempts = jobs.proc
      .matches(/\{[^\n]*"msg":"export failed; pg-boss retries it"[^\n]*\}/g)
      .map((match) => (JSON.parse(match[0]) as { time: number }).time);
    expect(attempts).toHaveLength(4);
    const gaps = attempts.slice(1).map((at, i) => (at - attempts[i]!) / 1000);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(2 ** i * 0.95));
    process.stdout.write(`a failing export: attempts ${gaps.map((gap) => gap.toFixed(1)).join(' s, ')} s apart, then failed\n`);
    // The job worker stayed up the whole time, and its metrics tell the story.
    expect(workerPids(jobs.proc)).toEqual([pid]);
    const samples = await eventually(
      async () => parsePrometheus((await request(`${jobs.metrics}/metrics`)).body),
      (metrics) => total(metrics, 'app_queue_jobs', { queue: 'exports', state: 'failed' }) === 1,
      { timeoutMs: 15_000, intervalMs: 500 },
    );
    expect(total(samples, 'gantry_jobs_total', { queue: 'exports', outcome: 'failed' })).toBe(4);
    expect(total(samples, 'gantry_jobs_total', { queue: 'exports-failed', outcome: 'completed' })).toBe(1);
    expect(total(samples, 'gantry_job_duration_seconds_count', { queue: 'exports' })).toBe(4);
    expect(total(samples, 'app_job_retries_total', { queue: 'exports' })).toBe(3);
    expect(total(samples, 'app_queue_jobs', { queue: 'exports', state: 'failed' })).toBe(1);
    expect(total(samples, 'gantry_jobs_running')).toBe(0);
  }, 90_000);

  it('PostgreSQL restarted while jobs run: the job workers reconnect by themselves and every export completes', async () => {
    const database = await migratedWithMessages(500);
    const { url } = await serveApp(database);
    const jobs = await runJobs(database, { workers: 2, env: { EXPORT_BATCH_SIZE: '50', EXPORT_BATCH_DELAY_MS: '100' } });
    const pids = workerPids(jobs.proc);
    const ids = await queueExports(url, 20);
    await eventually(
      async () => (await exportRows(database)).filter((row) => row.status === 'completed').length,
      (completed) => completed >= 2,
    );
    // The last export queued, watched through the restart: its progress stream must still end completed.
    const watched = await openEventStream(`${url}/api/exports/${ids.at(-1)}/events`);
    await postgres.stop();
    await sleep(3000);
    await postgres.start();
    const restartedAt = Date.now();
    const rows = await eventually(
      () => exportRows(database),
      (all) => all.every((row) => row.status === 'completed'),
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    expect(rows.filter((row) => row.status !== 'completed' || row.lines !== 501)).toEqual([]);
    expect(await jobStates(database)).toEqual([{ state: 'completed', n: 20 }]);
    expect(await Promise.race([watched.ended, sleep(15_000).then(() => 'still open')])).toBe(true);
    expect(JSON.parse(watched.events.at(-1)?.data ?? '{}')).toMatchObject({ status: 'completed' });
    // Reconnected, not replaced: the same processes throughout.
    expect(workerPids(jobs.proc).sort()).toEqual(pids.sort());
    process.stdout.write(
      `after a PostgreSQL restart, all 20 exports completed ${((Date.now() - restartedAt) / 1000).toFixed(1)} s later\n`,
    );
  }, 150_000);
});
