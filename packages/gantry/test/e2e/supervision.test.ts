/** Supervision by the primary: hung workers, max-requests, scaling, log reopening, hooks, preload, boot timeout, threads. */
import { mkdtemp, readFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { request } from '../helpers/http.js';
import { startLoad } from '../helpers/load.js';
import { FIXTURES, type Running, cleanUpProcesses, freePort, gantry } from '../helpers/process.js';

cleanUpProcesses();

async function serve(args: readonly string[], env: Record<string, string> = {}): Promise<{ proc: Running; url: string }> {
  const port = await freePort();
  const proc = gantry(['serve', '--bind', `127.0.0.1:${port}`, ...args], { env, cwd: FIXTURES });
  await proc.waitFor(/listening at/);
  return { proc, url: `http://127.0.0.1:${port}` };
}

const tempFile = async (name: string) => join(await mkdtemp(join(tmpdir(), 'gantry-')), name);

describe('the primary supervises its workers', () => {
  it('logs what a hung worker was serving, kills it (SIGABRT) and replaces it', async () => {
    const { proc, url } = await serve(['--timeout', '1', 'apps/node-app.mjs']);
    void request(`${url}/hang`).catch(() => {});
    const [, slot, pid] = (await proc.waitFor(
      /\[worker (\d) (\d+)\] event loop stuck for \d\.\d s; serving: GET \/hang \(\d\.\d s\)/,
    )) as string[];
    await proc.waitFor(
      new RegExp(`worker ${slot} \\(pid ${pid}\\) is hung: no heartbeat for \\d\\.\\d s \\(timeout 1 s\\); SIGABRT`),
    );
    await proc.waitFor(new RegExp(`worker ${slot} \\(pid ${pid}\\) was killed by SIGABRT: hung`));
    await proc.waitFor(new RegExp(`SIGABRT: hung[\\s\\S]*worker ${slot} \\(pid \\d+\\) ready`));
    for (let i = 0; i < 6; i++) expect((await request(url)).status).toBe(200);
  });

  it('replaces a worker after max-requests (with jitter) without failing a request', async () => {
    const { proc, url } = await serve(['--max-requests', '50', '--max-requests-jitter', '10', 'apps/node-app.mjs']);
    // Load runs until four workers have been replaced: how many requests that takes depends on how
    // fast successors boot, which is not what this test is about.
    const load = startLoad(url, { connections: 8 });
    await proc.waitFor(/(served (5\d|60) requests \(max-requests\): asking to be replaced[\s\S]*){4}/, 45_000);
    await proc.waitFor(/(exited with code 0: stopped[\s\S]*){4}/, 45_000);
    const result = await load.stop();
    expect(result).toMatchObject({ failed: 0, errors: {} });
    expect(proc.output).not.toMatch(/crashed|hung|failed/);
  });

  it('stops at once on SIGTERM while the workers are still loading the app', async () => {
    const proc = gantry(['serve', '--bind', `127.0.0.1:${await freePort()}`, 'apps/slow-boot.mjs'], {
      cwd: FIXTURES,
      env: { BOOT_MS: '5000' },
    });
    await proc.waitFor(/worker 2 \(pid \d+\) booting/);
    proc.signal('SIGTERM');
    expect(await proc.exit(4000)).toEqual({ code: 0, signal: null });
    expect(proc.output).not.toMatch(/SIGKILL|did not stop in time/);
  });

  it("gives the app's close() its time after the drain, within the primary's stop budget", async () => {
    const { proc } = await serve(['--workers', '1', '--graceful-timeout', '1', 'apps/slow-boot.mjs'], {
      BOOT_MS: '0',
      CLOSE_MS: '3000',
    });
    proc.signal('SIGTERM');
    expect(await proc.exit()).toEqual({ code: 0, signal: null });
    expect(proc.stdout).toMatch(/app closed \(pid \d+\)/);
    expect(proc.output).not.toMatch(/SIGKILL/);
  });

  it('adds a worker on SIGTTIN and removes one on SIGTTOU', async () => {
    const { proc } = await serve(['--workers', '1', 'apps/node-app.mjs']);
    proc.signal('SIGTTIN');
    await proc.waitFor(/SIGTTIN: one more worker \(2\)[\s\S]*worker 2 \(pid \d+\) ready/);
    proc.signal('SIGTTOU');
    await proc.waitFor(/SIGTTOU: one worker fewer \(1\)[\s\S]*worker 2 \(pid \d+\) exited with code 0: stopped/);
    proc.signal('SIGTTOU');
    await proc.waitFor(/SIGTTOU: already at one worker/);
  });

  it('reopens the access log file on SIGUSR1 (after logrotate moved it)', async () => {
    const log = await tempFile('access.log');
    const { proc, url } = await serve(['--access-log', log, 'apps/node-app.mjs']);
    await request(`${url}/before`);
    await rename(log, `${log}.1`);
    proc.signal('SIGUSR1');
    await proc.waitFor(/SIGUSR1: reopening log files/);
    // The worker reopens the file once it has the primary's word: until then a line still goes to the old one.
    await expect.poll(async () => readFile(log, 'utf8').catch(() => undefined)).toBeDefined();
    await request(`${url}/after`);
    await expect.poll(async () => readFile(log, 'utf8')).toContain('"GET /after HTTP/1.1" 404');
    expect(await readFile(`${log}.1`, 'utf8')).toContain('"GET /before HTTP/1.1" 404');
    expect(await readFile(`${log}.1`, 'utf8')).not.toContain('/after');
  });

  it('writes a JSON access log with the trusted client address and the request id', async () => {
    const { proc, url } = await serve(['--access-log', '-', '--access-log-format', 'json', 'apps/node-app.mjs']);
    await request(`${url}/?q="quoted"`, { headers: { 'X-Request-Id': 'abc123', 'X-Forwarded-For': '198.51.100.7' } });
    const [line = ''] = (await proc.waitFor(/^\{.*"request_id":"abc123".*\}$/m)) as string[];
    expect(JSON.parse(line)).toMatchObject({
      client: '198.51.100.7',
      method: 'GET',
      url: '/?q=%22quoted%22',
      status: 200,
      bytes: 15,
      request_id: 'abc123',
    });
  });

  it('runs the lifecycle hooks in order, in the primary and in the workers', async () => {
    const hookLog = await tempFile('hooks.log');
    const { proc } = await serve(['--config', 'hooks.config.mjs', 'apps/node-app.mjs'], { HOOK_LOG: hookLog });
    proc.signal('SIGHUP');
    await proc.waitFor(/reload complete[\s\S]*stopped[\s\S]*stopped/);
    proc.signal('SIGTERM');
    expect((await proc.exit()).code).toBe(0);
    const lines = (await readFile(hookLog, 'utf8')).trim().split('\n');
    const sorted = (from: number, to: number) => lines.slice(from, to).sort();
    expect(lines.slice(0, 1)).toEqual(['onStarting 2']);
    expect(sorted(1, 3)).toEqual(['postFork 1', 'postFork 2']);
    expect(lines[3]).toBe('whenReady 2');
    expect(lines[4]).toBe('onReload');
    expect(sorted(5, 9)).toEqual(['postFork 1', 'postFork 2', 'workerExit 1', 'workerExit 2']);
    expect(sorted(9, 11)).toEqual(['workerExit 1', 'workerExit 2']);
    expect(lines[11]).toBe('onExit');
    expect(lines).toHaveLength(12);
  });

  it('with --preload, reports a broken app once, from the primary, before forking any worker', async () => {
    const proc = gantry(['serve', '--preload', '--bind', `127.0.0.1:${await freePort()}`, 'apps/throws-at-import.mjs'], {
      cwd: FIXTURES,
    });
    expect((await proc.exit()).code).toBe(3);
    expect(
      proc.stderr.match(/error: The app apps\/throws-at-import\.mjs failed to load: the database is unreachable/g),
    ).toHaveLength(1);
    expect(proc.output).not.toContain('booting');
  });

  it('stops with exit 3 when a worker is not serving within boot-timeout', async () => {
    const proc = gantry(['serve', '--boot-timeout', '1', '--bind', `127.0.0.1:${await freePort()}`, 'apps/never-ready.mjs'], {
      cwd: FIXTURES,
    });
    expect((await proc.exit()).code).toBe(3);
    expect(proc.stderr).toMatch(/worker \d \(pid \d+\) was not serving 1 s after it started \(boot-timeout\)/);
  });

  it("keeps answering fast requests while CPU work runs on the worker's thread pool", async () => {
    const { url } = await serve(['--workers', '1', '--threads', '2', 'apps/threads-app.mjs']);
    const order: string[] = [];
    const cpu = request(`${url}/cpu?ms=1500`).then((reply) => order.push(`cpu: ${reply.body.replace(/\d+$/, 'N')}`));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await request(`${url}/fast`).then((reply) => order.push(reply.body));
    await cpu;
    expect(order).toEqual(['fast', 'cpu: spun 1500 ms on thread N']);
    // The same work on the event loop holds the fast request back: that is what the pool is for.
    order.length = 0;
    const inline = request(`${url}/cpu-inline?ms=1500`).then(() => order.push('cpu-inline'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await request(`${url}/fast`).then((reply) => order.push(reply.body));
    await inline;
    expect(order).toEqual(['cpu-inline', 'fast']);
  });
});
