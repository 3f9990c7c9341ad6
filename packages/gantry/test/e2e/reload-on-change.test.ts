/**
 * `--reload` (development): a change to the app's files is a graceful reload, seen for real: a served
 * app edited on disk answers with its new code, through new workers, without a refused request; in
 * production (NODE_ENV=production) the setting is refused.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { request } from '../helpers/http.js';
import { cleanUpProcesses, freePort, gantry } from '../helpers/process.js';

cleanUpProcesses();

const app = (version: string) => `export default (req, res) => res.end(${JSON.stringify(version)});\n`;

describe('--reload', () => {
  it("reloads gracefully when the app's files change, and serves the new code", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gantry-reload-'));
    await writeFile(join(dir, 'app.mjs'), app('v1'));
    await writeFile(join(dir, 'helper.map'), '');
    const port = await freePort();
    const proc = gantry(['serve', '--reload', '--workers', '2', '--bind', `127.0.0.1:${port}`, 'app.mjs'], { cwd: dir });
    await proc.waitFor(/reload: watching \. for changes/);
    await proc.waitFor(/listening at/);
    expect((await request(`http://127.0.0.1:${port}/`)).body).toBe('v1');
    // Ignored: source maps, dotfiles, node_modules.
    await writeFile(join(dir, 'helper.map'), 'x');
    await writeFile(join(dir, '.hidden'), 'x');
    await writeFile(join(dir, 'app.mjs'), app('v2'));
    await proc.waitFor(/reload: app\.mjs changed/);
    await proc.waitFor(/reload complete/);
    const answer = await eventually(
      async () => (await request(`http://127.0.0.1:${port}/`)).body,
      (body) => body === 'v2',
    );
    expect(answer).toBe('v2');
    // One burst of changes, one reload.
    expect(proc.matches(/SIGHUP: reloading/g)).toHaveLength(1);
    proc.signal('SIGTERM');
    expect((await proc.exit()).code).toBe(0);
  });

  it('is refused with NODE_ENV=production: exit 2, saying why', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gantry-reload-'));
    await writeFile(join(dir, 'app.mjs'), app('v1'));
    const proc = gantry(['serve', '--reload', '--bind', `127.0.0.1:${await freePort()}`, 'app.mjs'], {
      cwd: dir,
      env: { NODE_ENV: 'production' },
    });
    expect((await proc.exit()).code).toBe(2);
    expect(proc.stderr).toContain('reload watches files for development: it is refused with NODE_ENV=production');
  });
});
