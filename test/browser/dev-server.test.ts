/**
 * `npm run dev`'s frontend half, for real: Vite's dev server behind the local stack's nginx (gantry
 * stack --dev-server), the page's tags pointing at it (FRONTEND_DEV_SERVER), in Chromium: the page
 * works from the sources, the hot-module-replacement socket connects through nginx, and a stylesheet
 * saved on disk is swapped in without a reload.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { type ViteDevServer, createServer } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from '../../packages/gantry/test/helpers/http.js';
import { REPO_ROOT, cleanUpProcesses, freePort } from '../../packages/gantry/test/helpers/process.js';
import { describeWith, requirement } from '../../packages/gantry/test/helpers/requirements.js';
import { nginx, startStack } from '../../packages/gantry/test/helpers/stack.js';
import { APP, migratedDatabase } from '../../app/test/support/app.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';

cleanUpProcesses();

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(() => postgres?.destroy());

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const chromiumBrowser = requirement(existsSync(CHROMIUM), `chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`);
const STYLESHEET = join(REPO_ROOT, 'app/frontend/guestbook/guestbook.css');

describeWith(chromiumBrowser.available ? nginx : chromiumBrowser, "the frontend on Vite's dev server behind nginx", () => {
  let vite: ViteDevServer | undefined;
  afterAll(() => vite?.close());

  it('serves the sources with hot module replacement through the local nginx', async () => {
    const [nginxPort, vitePort] = [await freePort(), await freePort()];
    // vite.config.ts reads them when it loads.
    process.env.NGINX_PORT = String(nginxPort);
    process.env.VITE_PORT = String(vitePort);
    vite = await createServer({ configFile: join(REPO_ROOT, 'app/vite.config.ts'), logLevel: 'warn' });
    await vite.listen();
    const stack = await startStack(
      ['--dev-server', `/static/=http://127.0.0.1:${vitePort}`, ...APP],
      { DB_CONNECTION_STRING: await migratedDatabase(postgres), FRONTEND_DEV_SERVER: 'true' },
      { nginxPort },
    );
    const page = await request(`${stack.edge}/guestbook`);
    expect(page.body).toContain('<script type="module" src="/static/guestbook/main.ts"></script>');
    // app/static's files come from the dev server too (its public directory).
    expect((await request(`${stack.edge}/static/secret.txt`)).body).toBe('The secret code is 5134\n');

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    const original = await readFile(STYLESHEET, 'utf8');
    try {
      const tab = await browser.newPage();
      const logged: string[] = [];
      tab.on('console', (message) => logged.push(message.text()));
      tab.on('pageerror', (error) => logged.push(`page error: ${error.message}`));
      await tab.goto(`${stack.edge}/guestbook`);
      await expect.poll(() => logged.join('\n')).toContain('[vite] connected.');
      // The script runs from the sources: a refusal shows next to its field.
      await tab.click('form.sign button[type=submit]');
      await expect.poll(() => tab.textContent('#author-error')).toBe('must not be empty');
      // A stylesheet saved on disk: swapped in, no reload (the field's text stays).
      await tab.fill('textarea[name=body]', 'still here');
      await writeFile(STYLESHEET, `${original}\nh1 {\n  color: rgb(1, 2, 3);\n}\n`);
      await expect.poll(() => tab.$eval('h1', (h1) => getComputedStyle(h1).color), { timeout: 10_000 }).toBe('rgb(1, 2, 3)');
      expect(await tab.inputValue('textarea[name=body]')).toBe('still here');
      expect(logged.filter((line) => line.startsWith('page error'))).toEqual([]);
    } finally {
      await writeFile(STYLESHEET, original);
      await browser.close();
    }
  });
});
