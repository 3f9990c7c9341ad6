/**
 * `gantry run`: job workers supervised by the same arbiter as web workers, seen for real with a job
 * worker whose queue is a directory (fixtures/jobs/file-queue.mjs): work taken and finished, a graceful
 * stop that lets the job under way finish (or names it when time runs out), a crash replaced, a stuck
 * event loop reported with its job and killed, SIGHUP's new generation, and bad modules refused.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, REPO_ROOT, type Running, cleanUpProcesses, freePort, gantry } from '../helpers/process.js';
import { request } from '../helpers/http.js';
import { parsePrometheus, total } from '../helpers/prometheus-text.js';

cleanUpProcesses();

interface Done {
  readonly pid: number;
  readonly worker: number;
  readonly version: string;
  readonly failed: boolean;
}

interface Queue {
  readonly dir: string;
  readonly versionFile: string;
  add(name: string, job?: { ms?: number; crash?: boolean; hang?: number; fail?: boolean }): Promise<void>;
  /** Resolves with who ran the job, once it is done. */
  done(name: string, timeoutMs?: number): Promise<Done>;
  /** Resolves once a worker has claimed the job. */
  claimed(name: string): Promise<void>;
}

async function queue(): Promise<Queue> {
  const dir = await mkdtemp(join(tmpdir(), 'gantry-jobs-'));
  const versionFile = join(dir, 'VERSION');
  const waitFor = async <T>(probe: () => Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return {
    dir,
    versionFile,
    // Written aside, then renamed into the queue: a worker never reads a half-written job.
    add: async (name, job = {}) => {
      await writeFile(join(dir, `${name}.tmp`), JSON.stringify(job));
      await rename(join(dir, `${name}.tmp`), join(dir, `${name}.job`));
    },
    done: (name, timeoutMs = 15_000) =>
      waitFor(
        async () =>
          readFile(join(dir, `${name}.done`), 'utf8').then(
            (text) => JSON.parse(text) as Done,
            () => undefined,
          ),
        `job ${name} not done`,
        timeoutMs,
      ),
    claimed: (name) =>
      waitFor(
        async () => ((await readdir(dir)).some((file) => file.startsWith(`${name}.claimed`)) ? true : undefined),
        `job ${name} not claimed`,
        15_000,
      ).then(() => {}),
  };
}

function run(q: Queue, args: readonly string[] = [], env: Record<string, string> = {}): Running {
  return gantry(['run', '--workers', '2', ...args, 'jobs/file-queue.mjs'], {
    cwd: FIXTURES,
    env: { QUEUE_DIR: q.dir, VERSION_FILE: q.versionFile, ...env },
  });
}

describe('gantry run', () => {
  it('runs job workers that take work; SIGTERM lets the job under way finish, then exits 0', async () => {
    const q = await queue();
    const proc = run(q);
    await proc.waitFor(/running 2 job workers/);
    for (let i = 1; i <= 6; i++) await q.add(`short-${i}`, { ms: 50 });
    const ran = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => q.done(`short-${i}`)));
    expect(new Set(ran.map((r) => r.worker)).size).toBeGreaterThanOrEqual(1);
    await q.add('long', { ms: 1500 });
    await q.claimed('long');
    proc.signal('SIGTERM');
    expect(await proc.exit()).toEqual({ code: 0, signal: null });
    expect(await q.done('long', 0)).toMatchObject({ version: 'v1' });
    expect(proc.output).not.toContain('graceful timeout');
  });

  it('a graceful stop that runs out of time names the job still running', async () => {
    const q = await queue();
    const proc = run(q, ['--workers', '1', '--graceful-timeout', '1']);
    await proc.waitFor(/running 1 job workers/);
    await q.add('endless', { ms: 60_000 });
    await q.claimed('endless');
    proc.signal('SIGTERM');
    expect((await proc.exit()).code).toBe(0);
    expect(proc.output).toMatch(
      /graceful timeout: the job worker's stop\(\) did not finish within 1 s; still running: job endless/,
    );
  });

  it('replaces a job worker that crashes; the work goes on', async () => {
    const q = await queue();
    const proc = run(q);
    await proc.waitFor(/running 2 job workers/);
    await q.add('crash', { crash: true, ms: 200 });
    await proc.waitFor(/uncaught exception in the app: this worker stops and will be replaced/);
    // Its exit, and its replacement (a third worker turns ready), in either order: under load the
    // replacement may be ready before the crashed one's exit is logged, or after.
    await proc.waitFor(/exited with code 1: crashed/);
    await proc.waitFor(/(?:worker \d \(pid \d+\) ready[\s\S]*){3}/);
    expect(proc.matches(/worker \d \(pid \d+\) ready/g)).toHaveLength(3);
    await q.add('after', { ms: 10 });
    expect(await q.done('after')).toMatchObject({ version: 'v1' });
  });

  it('kills a job worker whose event loop is stuck, naming the job it ran, and replaces it', async () => {
    const q = await queue();
    const proc = run(q, ['--workers', '1', '--timeout', '2']);
    await proc.waitFor(/running 1 job workers/);
    await q.add('stuck', { hang: 60_000 });
    await proc.waitFor(/event loop stuck for [\d.]+ s; serving: JOB job stuck/);
    await proc.waitFor(/worker 1 \(pid \d+\) was killed by SIG(ABRT|KILL)[\s\S]*worker 1 \(pid \d+\) ready/, 30_000);
  });

  it('SIGHUP starts a new generation with the new code; the old one finishes its job first', async () => {
    const q = await queue();
    const proc = run(q);
    await proc.waitFor(/running 2 job workers/);
    await q.add('before', { ms: 10 });
    expect(await q.done('before')).toMatchObject({ version: 'v1' });
    await q.add('spanning', { ms: 2000 });
    await q.claimed('spanning');
    await writeFile(q.versionFile, 'v2');
    proc.signal('SIGHUP');
    await proc.waitFor(/reload complete/);
    await q.add('after', { ms: 10 });
    expect(await q.done('after')).toMatchObject({ version: 'v2' });
    expect(await q.done('spanning')).toMatchObject({ version: 'v1' });
  });
});

describe('gantry run, watched', () => {
  it('counts jobs by queue and outcome, with durations, on --metrics-bind; /status.json shows job workers', async () => {
    const q = await queue();
    const metricsPort = await freePort();
    const metrics = `http://127.0.0.1:${metricsPort}`;
    const proc = run(q, ['--metrics-bind', `127.0.0.1:${metricsPort}`]);
    await proc.waitFor(/running 2 job workers/);
    for (let i = 1; i <= 5; i++) await q.add(`ok-${i}`, { ms: 20 });
    await q.add('bad', { ms: 20, fail: true });
    expect((await q.done('bad')).failed).toBe(true);
    for (let i = 1; i <= 5; i++) expect((await q.done(`ok-${i}`)).failed).toBe(false);
    const samples = parsePrometheus((await request(`${metrics}/metrics`)).body);
    expect(total(samples, 'gantry_jobs_total', { queue: 'files', outcome: 'completed' })).toBe(5);
    expect(total(samples, 'gantry_jobs_total', { queue: 'files', outcome: 'failed' })).toBe(1);
    expect(total(samples, 'gantry_job_duration_seconds_count', { queue: 'files' })).toBe(6);
    expect(total(samples, 'gantry_job_duration_seconds_sum', { queue: 'files' })).toBeGreaterThan(0.1);
    expect(total(samples, 'gantry_jobs_running')).toBe(0);
    expect(total(samples, 'gantry_workers', { state: 'ready' })).toBe(2);
    // Every gantry_job* metric the dashboard's jobs row asks for is there.
    const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'monitoring/grafana/dashboards/gantry.json'), 'utf8')) as {
      panels: { targets?: { expr: string }[] }[];
    };
    const asked = dashboard.panels.flatMap((panel) =>
      (panel.targets ?? []).flatMap((target) => [...target.expr.matchAll(/\b(gantry_job\w+)/g)].map((m) => m[1]!)),
    );
    const exported = new Set(samples.map((sample) => sample.name));
    expect(asked.length).toBeGreaterThanOrEqual(3);
    for (const name of asked) expect(exported, name).toContain(name);
    const status = JSON.parse((await request(`${metrics}/status.json`)).body) as {
      kind: string;
      jobs: { total: number; byOutcome: Record<string, number>; running: number; durationBuckets: Record<string, number> };
      workers: { state: string }[];
    };
    expect(status.kind).toBe('jobs');
    expect(status.jobs).toMatchObject({ total: 6, byOutcome: { completed: 5, failed: 1 }, running: 0 });
    expect(status.jobs.durationBuckets['+Inf']).toBe(6);
    expect(status.workers.map((w) => w.state)).toEqual(['ready', 'ready']);
  });
});

describe('gantry run, refused', () => {
  it('a module that is no job worker: exit 4, saying what it should be', async () => {
    const proc = gantry(['run', 'jobs/not-a-worker.mjs'], { cwd: FIXTURES });
    expect((await proc.exit()).code).toBe(4);
    expect(proc.stderr).toMatch(
      /jobs\/not-a-worker\.mjs is no job worker: expected an object with start\(context\) and stop\(\{ timeoutMs \}\)/,
    );
  });

  it('a job worker that fails to start: exit 3 with its error, no crash loop', async () => {
    const q = await queue();
    const proc = run(q, [], { START_THROWS: '1' });
    expect((await proc.exit()).code).toBe(3);
    expect(proc.stderr).toContain('the job worker cannot reach its queue');
    expect(proc.matches(/booting/g).length).toBeLessThanOrEqual(2);
  });

  it('documents only the settings job workers have', async () => {
    const help = gantry(['run', '--help']);
    expect((await help.exit()).code).toBe(0);
    expect(help.stdout).toContain('--graceful-timeout');
    expect(help.stdout).not.toContain('--bind');
    const printed = gantry(['run', '--print-config', '--workers', '3', 'jobs/file-queue.mjs'], { cwd: FIXTURES });
    expect((await printed.exit()).code).toBe(0);
    expect(printed.stdout).toMatch(/^workers = 3 +# flag --workers$/m);
    expect(printed.stdout).not.toMatch(/^bind /m);
  });
});
