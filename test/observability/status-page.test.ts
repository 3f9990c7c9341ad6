/**
 * The status page (/status on --metrics-bind) in a real browser (Debian's chromium, headless, driven by
 * playwright-core), while load runs: it must show live numbers, every worker and no script error.
 * SCREENSHOT_PATH=docs/status-page.png saves the picture the README shows.
 */
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from '../../packages/gantry/test/helpers/http.js';
import { describeWith, requirement } from '../../packages/gantry/test/helpers/requirements.js';
import { startLoad } from '../../packages/gantry/test/helpers/load.js';
import { REPO_ROOT, cleanUpProcesses, freePort, gantry } from '../../packages/gantry/test/helpers/process.js';
import { migratedDatabase, postJson, serveApp } from '../../app/test/support/app.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';

cleanUpProcesses();

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(() => postgres?.destroy());

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const chromiumBrowser = requirement(existsSync(CHROMIUM), `chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`);

function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The status page loaded, with the script errors it logs from then on. */
async function openStatusPage(browser: Browser, metricsPort: number): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 600 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  await page.goto(`http://127.0.0.1:${metricsPort}/status`);
  await page.waitForSelector('body[data-loaded="true"]');
  // A rate needs two snapshots: wait for the second poll to fill it in.
  await page.waitForFunction(() => /\d/.test(document.getElementById('rps')?.textContent ?? ''), undefined, {
    timeout: 10_000,
  });
  return { page, problems };
}

describeWith(chromiumBrowser, 'the status page in a browser', () => {
  it('shows live throughput, latency and every worker, with no script error', async () => {
    const metricsPort = await freePort();
    const { url } = await serveApp(await migratedDatabase(postgres), ['--metrics-bind', `127.0.0.1:${metricsPort}`], {
      APP_ENV: 'Production',
    });
    const load = startLoad(`${url}/`, { connections: 4 });
    for (let i = 0; i < 3; i++) await request(`${url}/primes?below=2000000`);

    const browser = await launchBrowser();
    try {
      const { page, problems } = await openStatusPage(browser, metricsPort);
      await page.waitForTimeout(4500);
      const rps = Number((await page.textContent('#rps'))?.replace(/[^\d.]/g, ''));
      expect(rps).toBeGreaterThan(0);
      expect(await page.textContent('#latency')).toMatch(/^\d+(\.\d)? \/ \d+(\.\d)? \/ \d+(\.\d)? ms$/);
      expect(await page.textContent('#ready')).toBe('ready');
      const rows = await page.$$eval('#workers tr', (trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
      );
      expect(rows.map((cells) => cells[2])).toEqual(['ready', 'ready']);
      expect(rows.every((cells) => /^\d+ MB$/.test(cells[4] ?? ''))).toBe(true);
      expect(problems, problems.join('\n')).toEqual([]);
      const screenshot = process.env.SCREENSHOT_PATH
        ? join(REPO_ROOT, process.env.SCREENSHOT_PATH)
        : join(await mkdtemp(join(tmpdir(), 'gantry-status-')), 'status.png');
      await page.screenshot({ path: screenshot, fullPage: true });
    } finally {
      await browser.close();
      await load.stop();
    }
  });

  it("shows a gantry run's jobs and job workers, with no script error", async () => {
    const database = await migratedDatabase(postgres);
    await postgres.query(
      "INSERT INTO messages (author, body) SELECT 'a', 'message ' || n FROM generate_series(1, 200) AS n",
      [],
      database,
    );
    const { url } = await serveApp(database);
    const metricsPort = await freePort();
    const jobs = gantry(
      [
        'run',
        '--metrics-bind',
        `127.0.0.1:${metricsPort}`,
        '--config',
        'app/dist/gantry.config.js',
        'app/dist/src/jobs/worker.js',
      ],
      { env: { DB_CONNECTION_STRING: database, EXPORT_BATCH_SIZE: '20', EXPORT_BATCH_DELAY_MS: '20' } },
    );
    await jobs.waitFor(/running 2 job workers/);
    // Exports all along, so that the page's rate has jobs in every interval.
    let exporting = true;
    const exports = (async () => {
      while (exporting) {
        await postJson(`${url}/api/exports`, {});
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const browser = await launchBrowser();
    try {
      const { page, problems } = await openStatusPage(browser, metricsPort);
      await page.waitForTimeout(4500);
      expect(await page.textContent('#rps-label')).toBe('Jobs');
      expect(await page.textContent('#rps')).toMatch(/^[\d.]+ jobs\/s$/);
      expect(Number((await page.textContent('#rps'))?.replace(/[^\d.]/g, ''))).toBeGreaterThan(0);
      expect(await page.textContent('#latency-label')).toBe('Job duration p50 / p95 / p99');
      expect(await page.textContent('#latency')).toMatch(/^[\d.]+ \/ [\d.]+ \/ [\d.]+ s$/);
      expect(await page.textContent('#errors-label')).toBe('Failed jobs');
      expect(await page.textContent('#inflight')).toMatch(/^\d+ · [\d,]+ done$/);
      expect(await page.textContent('#workers-label')).toBe('Job workers');
      const states = await page.$$eval('#workers tr', (trs) => trs.map((tr) => tr.querySelectorAll('td')[2]?.textContent));
      expect(states).toEqual(['ready', 'ready']);
      expect(problems, problems.join('\n')).toEqual([]);
    } finally {
      exporting = false;
      await exports;
      await browser.close();
    }
  });
});
