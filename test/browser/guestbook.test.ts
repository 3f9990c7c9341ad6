/**
 * The guestbook page in a real browser (Debian's chromium, headless, driven by playwright-core), on the
 * local stack as `npm start` runs it (nginx, gantry, a job worker, PostgreSQL): it loads with no
 * console error and no failed request, a message posted through the form appears, so does one written
 * meanwhile by someone else (pushed over the page's WebSocket, through nginx), a refusal is shown
 * next to its field, an export started from the page shows its progress and then a download link, and a
 * second visit fetches no asset again. The page's budgets are measured and printed: JS and CSS
 * transferred, requests, first contentful paint. SCREENSHOT_PATH=docs/guestbook.png saves the picture
 * README shows.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type CDPSession, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPO_ROOT, cleanUpProcesses } from '../../packages/gantry/test/helpers/process.js';
import { describeWith, requirement } from '../../packages/gantry/test/helpers/requirements.js';
import { nginx, startStack } from '../../packages/gantry/test/helpers/stack.js';
import { APP, migratedDatabase } from '../../app/test/support/app.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';

cleanUpProcesses();

let postgres: TestPostgres;
let database: string;
beforeAll(async () => {
  postgres = await startTestPostgres();
  database = await migratedDatabase(postgres);
  await postgres.query(
    "INSERT INTO messages (author, body) SELECT 'visitor ' || n, 'hello number ' || n FROM generate_series(1, 300) AS n",
    [],
    database,
  );
});
afterAll(() => postgres?.destroy());

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const chromiumBrowser = requirement(existsSync(CHROMIUM), `chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`);
const browserAndNginx = chromiumBrowser.available ? nginx : chromiumBrowser;

interface Fetched {
  readonly url: string;
  readonly type: string;
  /** Bytes on the wire (compressed), headers excluded; 0 from the cache. */
  readonly encodedBytes: number;
  readonly fromCache: boolean;
}

/** What the page fetches, from Chromium's own network log (DevTools protocol). */
async function networkLog(page: Page): Promise<{ client: CDPSession; fetched: Map<string, Fetched>; failed: string[] }> {
  const client = await page.context().newCDPSession(page);
  const fetched = new Map<string, Fetched>();
  const failed: string[] = [];
  const byId = new Map<string, { url: string; type: string; fromDiskCache: boolean }>();
  // Chromium says "served from cache" (its memory cache) before or after the response, by request id.
  const servedFromCache = new Set<string>();
  client.on('Network.responseReceived', ({ requestId, response, type }) => {
    byId.set(requestId, { url: response.url, type, fromDiskCache: response.fromDiskCache === true });
  });
  client.on('Network.requestServedFromCache', ({ requestId }) => servedFromCache.add(requestId));
  client.on('Network.loadingFinished', ({ requestId, encodedDataLength }) => {
    const seen = byId.get(requestId);
    if (!seen) return;
    const fromCache = seen.fromDiskCache || servedFromCache.has(requestId);
    fetched.set(requestId, { url: seen.url, type: seen.type, fromCache, encodedBytes: fromCache ? 0 : encodedDataLength });
  });
  client.on('Network.loadingFailed', ({ requestId, errorText, canceled, type }) => {
    // The export panel closes its event stream once the export is done, which may beat the server's own end of
    // it: Chromium logs that as a canceled load. The page's choice, not a failure.
    if (canceled === true && type === 'EventSource') return;
    failed.push(`${byId.get(requestId)?.url ?? requestId}: ${errorText}`);
  });
  await client.send('Network.enable');
  return { client, fetched, failed };
}

function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-sync',
    ],
  });
}

describeWith(browserAndNginx, 'the guestbook in a browser', () => {
  it('posts, refuses, exports and caches like a user expects', async () => {
    const stack = await startStack(['--jobs', 'app/dist/src/jobs/worker.js', ...APP], {
      DB_CONNECTION_STRING: database,
      EXPORT_BATCH_SIZE: '50',
      EXPORT_BATCH_DELAY_MS: '150',
    });
    const browser = await launch();
    try {
      const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      const first = await networkLog(page);
      await page.goto(`${stack.edge}/guestbook`, { waitUntil: 'networkidle' });

      // The budgets of a first visit.
      const loaded = [...first.fetched.values()];
      const bytes = (type: string) => loaded.filter((f) => f.type === type).reduce((sum, f) => sum + f.encodedBytes, 0);
      const paint = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN);
      process.stdout.write(
        `guestbook page, first visit: ${loaded.length} requests, JS ${bytes('Script')} B and CSS ${bytes('Stylesheet')} B transferred ` +
          `(compressed), HTML ${bytes('Document')} B, first contentful paint ${Math.round(paint)} ms\n`,
      );
      expect(loaded.filter((f) => f.type === 'Script')).toHaveLength(1);
      expect(loaded.filter((f) => f.type === 'Stylesheet')).toHaveLength(1);
      expect(bytes('Script')).toBeGreaterThan(0);
      expect(paint).toBeGreaterThan(0);
      expect(await page.locator('ol.messages li').count()).toBe(50);

      // A message through the form (fetch, no reload) appears at the top.
      await page.fill('input[name=author]', 'Ada');
      await page.fill('textarea[name=body]', 'Signed from a real browser <b>not bold</b>');
      await page.click('form.sign button[type=submit]');
      await expect
        .poll(() => page.locator('ol.messages li').first().textContent())
        .toContain('Signed from a real browser <b>not bold</b>');
      expect(await page.inputValue('textarea[name=body]')).toBe('');
      // A message written elsewhere (another visitor, another replica) shows up without a reload.
      await postgres.query("INSERT INTO messages (author, body) VALUES ('Grace', 'written meanwhile')", [], database);
      await expect
        .poll(() => page.locator('ol.messages li').first().textContent(), { timeout: 10_000 })
        .toContain('written meanwhile');
      // A refusal, next to its field.
      await page.fill('input[name=author]', '   ');
      await page.fill('textarea[name=body]', 'who am I?');
      await page.click('form.sign button[type=submit]');
      await expect.poll(() => page.textContent('#author-error')).toBe('must not be empty');
      expect(await page.getAttribute('input[name=author]', 'aria-invalid')).toBe('');
      expect(await page.textContent('#body-error')).toBe('');

      // An export: its chunk loads on the click, its progress shows, then the link.
      await page.click('#export-start');
      await page.waitForSelector('#export-status progress');
      await expect.poll(() => page.textContent('#export-status'), { timeout: 30_000 }).toMatch(/active \d+ %/);
      const link = page.locator('#export-status a');
      await link.waitFor({ timeout: 60_000 });
      expect(await link.textContent()).toBe('Download the CSV (302 messages)');
      const download = await page.request.get(`${stack.edge}${await link.getAttribute('href')}`);
      expect(download.status()).toBe(200);
      expect((await download.text()).trimEnd().split('\n')).toHaveLength(303);
      const chunks = [...first.fetched.values()].filter((f) => f.type === 'Script').map((f) => new URL(f.url).pathname);
      expect(chunks).toEqual([
        expect.stringMatching(/^\/static\/assets\/guestbook-/),
        expect.stringMatching(/^\/static\/assets\/exports-/),
      ]);
      if (process.env.SCREENSHOT_PATH) await page.screenshot({ path: join(REPO_ROOT, process.env.SCREENSHOT_PATH) });
      expect(first.failed).toEqual([]);
      await first.client.detach();

      // A second visit: the page again (no-cache), every asset from the browser's cache.
      const second = await networkLog(page);
      await page.goto(`${stack.edge}/guestbook`, { waitUntil: 'networkidle' });
      await page.waitForTimeout(200);
      const again = [...second.fetched.values()];
      expect(again.filter((f) => f.type === 'Document')).toMatchObject([{ fromCache: false }]);
      const assets = again.filter((f) => f.type === 'Script' || f.type === 'Stylesheet');
      expect(assets.length).toBeGreaterThanOrEqual(2);
      expect(assets.filter((f) => !f.fromCache)).toEqual([]);
      expect(second.failed).toEqual([]);
      // Chromium logs every refused fetch as an error: the one is the refusal the test asked for.
      expect(problems).toEqual(['Failed to load resource: the server responded with a status of 400 (Bad Request)']);
    } finally {
      await browser.close();
    }
  });
});
