/**
 * SIGHUP replaces every worker without losing a request, under keep-alive load, directly and through
 * nginx's keep-alive pool, with GET and POST (nginx retries a failed GET on another connection, never a
 * POST, so only POST through nginx shows a lost request).
 */
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { request } from '../helpers/http.js';
import { type LoadResult, startLoad } from '../helpers/load.js';
import { FIXTURES, type Running, cleanUpProcesses, freePort, gantry } from '../helpers/process.js';
import { describeWith } from '../helpers/requirements.js';
import { nginx, startStack } from '../helpers/stack.js';

cleanUpProcesses();

async function appCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gantry-reload-'));
  const file = join(dir, 'app.mjs');
  await copyFile(join(FIXTURES, 'apps/versioned-app.mjs'), file);
  return file;
}

async function setVersion(file: string, version: string): Promise<void> {
  const source = await readFile(file, 'utf8');
  await writeFile(file, source.replace(/const VERSION = '[^']*';/, `const VERSION = '${version}';`));
}

async function serve(app: string, extra: readonly string[] = []): Promise<{ proc: Running; url: string }> {
  const port = await freePort();
  const proc = gantry(['serve', '--bind', `127.0.0.1:${port}`, ...extra, app]);
  await proc.waitFor(/listening at/);
  return { proc, url: `http://127.0.0.1:${port}` };
}

/** HUP to the gantry primary in the middle of a load; returns the load's result once the old workers are gone. */
async function reloadUnderLoad(proc: Running, url: string, method: 'GET' | 'POST'): Promise<LoadResult> {
  const [, primary] = await proc.waitFor(/primary pid (\d+)/);
  const load = startLoad(url, { connections: 16, method, ...(method === 'POST' ? { body: 'payload' } : {}) });
  await load.waitFor(300);
  process.kill(Number(primary), 'SIGHUP');
  await proc.waitFor(/reload complete/);
  await proc.waitFor(/reload complete[\s\S]*exited with code 0: stopped[\s\S]*exited with code 0: stopped/);
  await load.waitFor(300);
  return load.stop();
}

describe('SIGHUP: rolling reload', () => {
  it.each(['GET', 'POST'] as const)('loses no %s request directly against gantry', async (method) => {
    const { proc, url } = await serve(await appCopy());
    const result = await reloadUnderLoad(proc, url, method);
    expect(result).toMatchObject({ failed: 0, errors: {} });
    expect(result.ok).toBeGreaterThan(600);
  });

  describeWith(nginx, 'through nginx', () => {
    it.each(['GET', 'POST'] as const)("loses no %s request through nginx's keep-alive pool", async (method) => {
      const stack = await startStack(['--static', `/static/=${FIXTURES}`, await appCopy()]);
      const result = await reloadUnderLoad(stack.proc, `${stack.edge}/`, method);
      expect(result).toMatchObject({ failed: 0, errors: {}, statuses: { 200: result.ok } });
    });
  });

  it('answers every connection opened as old workers exit (node:cluster hand-off race)', async () => {
    // Idle old workers exit as soon as they stop accepting. node:cluster may be handing one of them a
    // connection at that moment; a worker gone before it reads the hand-off loses it and the client
    // hangs (measured: 4 of 300 here). Workers now exit only after the primary says nothing more is coming.
    const { proc, url } = await serve(await appCopy());
    let answered = 0;
    for (let round = 1; round <= 20; round++) {
      proc.signal('SIGHUP');
      await proc.waitFor(new RegExp(`(reload complete[\\s\\S]*){${round}}`));
      const burst = await Promise.all(Array.from({ length: 10 }, () => request(url, { timeoutMs: 3000 }).then((r) => r.status)));
      answered += burst.filter((status) => status === 200).length;
    }
    expect(answered).toBe(200);
  });

  it('serves the new code after the reload', async () => {
    const app = await appCopy();
    const { proc, url } = await serve(app);
    expect((await request(url)).body).toBe('v1');
    await setVersion(app, 'v2');
    proc.signal('SIGHUP');
    await proc.waitFor(/reload complete/);
    for (let i = 0; i < 4; i++) expect((await request(url)).body).toBe('v2');
  });

  it('keeps the old workers serving when the new ones cannot boot, and says why', async () => {
    const app = await appCopy();
    const { proc, url } = await serve(app);
    await writeFile(app, "throw new Error('broken deploy');\n");
    proc.signal('SIGHUP');
    await proc.waitFor(/reload failed, the old workers keep serving: The app .* failed to load: broken deploy/);
    for (let i = 0; i < 4; i++) expect((await request(url)).body).toBe('v1');
    // Fixed, a second reload goes through.
    await copyFile(join(FIXTURES, 'apps/versioned-app.mjs'), app);
    await setVersion(app, 'v3');
    proc.signal('SIGHUP');
    await proc.waitFor(/reload complete/);
    expect((await request(url)).body).toBe('v3');
  });

  it('keeps serving when the reloaded settings are invalid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gantry-reload-config-'));
    const config = join(dir, 'gantry.config.mjs');
    await writeFile(config, 'export default { workers: 1 };\n');
    const { proc, url } = await serve(await appCopy(), ['--config', config]);
    await writeFile(config, 'export default { workers: "lots" };\n');
    proc.signal('SIGHUP');
    await proc.waitFor(/reload aborted, the current workers keep serving: Invalid settings \(1 problem\):\n\s+- workers: "lots"/);
    expect((await request(url)).status).toBe(200);
    // A valid change is applied: two workers now.
    await writeFile(config, 'export default { workers: 2 };\n');
    proc.signal('SIGHUP');
    await proc.waitFor(/reload complete: 2 new workers serving, 1 old ones draining/);
  });
});

describe('SIGHUP: edge cases', () => {
  it('never serves the new code when one of the new workers fails to load', async () => {
    // Worker 1 of the new code loads at once, worker 2 fails after a while: the new workers open their
    // listeners only once all have loaded, so none of them answers a request.
    const app = await appCopy();
    const { proc, url } = await serve(app);
    const load = startLoad(url, { connections: 8 });
    await load.waitFor(100);
    await writeFile(
      app,
      `export default async function ({ workerId }) {
        if (workerId === 2) { await new Promise((r) => setTimeout(r, 1500)); throw new Error('worker 2 cannot boot'); }
        return (req, res) => res.end('v2');
      }\n`,
    );
    proc.signal('SIGHUP');
    await proc.waitFor(/reload failed, the old workers keep serving: The app .* failed to start: worker 2 cannot boot/);
    await load.waitFor(100);
    const result = await load.stop();
    expect(result).toMatchObject({ failed: 0, errors: {}, bodies: { v1: result.ok } });
  });

  it('replaces every worker on HUP even while a max-requests replacement is under way', async () => {
    const app = await appCopy();
    const { proc, url } = await serve(app, ['--max-requests', '5']);
    for (let i = 0; i < 12; i++) await request(url);
    await setVersion(app, 'v2');
    proc.signal('SIGHUP');
    await proc.waitFor(/reload complete/);
    // Once the old workers are gone, every answer is the new code's; until then some may still be v1.
    const versions = async () => {
      const bodies = new Set<string>();
      for (let i = 0; i < 10; i++) bodies.add((await request(url)).body);
      return [...bodies];
    };
    await expect.poll(versions, { timeout: 10_000 }).toEqual(['v2']);
  });

  it('keeps supervising while a reload waits on its config file, and aborts it at boot-timeout', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gantry-reload-hang-'));
    const config = join(dir, 'gantry.config.mjs');
    await writeFile(config, 'export default { workers: 1, bootTimeout: 2 };\n');
    const { proc, url } = await serve(await appCopy(), ['--config', config]);
    // A config file that never finishes loading (a secrets store that does not answer).
    await writeFile(config, 'await new Promise(() => {});\nexport default { workers: 1 };\n');
    proc.signal('SIGHUP');
    await proc.waitFor(
      /reload aborted, the current workers keep serving: reading the settings took longer than boot-timeout \(2 s\)/,
    );
    expect((await request(url)).body).toBe('v1');
    proc.signal('SIGTERM');
    expect((await proc.exit()).code).toBe(0);
  });
});
