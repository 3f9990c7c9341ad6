/**
 * The frontend's files through the local stack, for real (nginx in front of gantry, the example app on
 * PostgreSQL): every hashed asset the page names comes from nginx's disk with a year's immutable
 * Cache-Control and gzip from its .gz, the page itself is no-cache, and the app never sees an asset
 * request, except the one nginx lacks (a page of another release during a rolling deploy), which the
 * app answers from its own build.
 */
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { type IncomingHttpHeaders, get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from '../../../packages/gantry/test/helpers/http.js';
import { FIXTURES, REPO_ROOT, cleanUpProcesses, freePort, gantry } from '../../../packages/gantry/test/helpers/process.js';
import { describeWith } from '../../../packages/gantry/test/helpers/requirements.js';
import { nginx, startStack } from '../../../packages/gantry/test/helpers/stack.js';
import { findNginx } from '../../../packages/gantry/src/stack/nginx.js';
import { GANTRY_TEMPLATES } from '../../../packages/gantry/src/stack/settings.js';
import { type TestPostgres, startTestPostgres } from '../../../test/support/postgres.js';
import { APP, migratedDatabase } from '../support/app.js';

cleanUpProcesses();

const BUILT = join(REPO_ROOT, 'app/dist/public/assets');
const IMMUTABLE = 'public, max-age=31536000, immutable';
const BROTLI_MODULE = (await findNginx('nginx'))?.brotliStaticModule !== undefined;

let postgres: TestPostgres;
let database: string;
beforeAll(async () => {
  postgres = await startTestPostgres();
  database = await migratedDatabase(postgres);
});
afterAll(() => postgres?.destroy());

/** The stack, its nginx serving the hashed files from a copy of the build (so a test can take one away). */
async function stackWithAssets() {
  const served = await mkdtemp(join(tmpdir(), 'gantry-assets-'));
  await cp(BUILT, served, { recursive: true });
  const stack = await startStack(['--access-log', '-', '--immutable-static', `/static/assets/=${served}`, ...APP], {
    DB_CONNECTION_STRING: database,
  });
  return { ...stack, served };
}

/** The /static/assets/ URLs of the page's tags. */
function assetUrls(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="(\/static\/assets\/[^"]+)"/g)].map((m) => m[1]!);
}

/** A GET with its body as bytes, as sent (no decompression). */
function getBytes(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** The app's access log lines (gantry's, on the stack's output) for requests whose path starts with `path`; nginx's own error lines, which quote the request too, are not these. */
const accessLogLines = (output: string, path: string) =>
  output.split('\n').filter((line) => line.includes(`"GET ${path}`) && /HTTP\/1\.1" \d{3} /.test(line));

describeWith(nginx, 'the frontend through nginx', () => {
  it('serves every hashed asset from disk, immutable and gzipped; the page no-cache; the app sees none', async () => {
    const stack = await stackWithAssets();
    const page = await request(`${stack.edge}/guestbook`);
    expect(page.status).toBe(200);
    expect(page.headers['cache-control']).toBe('no-cache');
    const urls = assetUrls(page.body);
    expect(urls.map((url) => url.replace(/-[\w-]{8}\./, '-HASH.'))).toEqual([
      '/static/assets/guestbook-HASH.css',
      '/static/assets/guestbook-HASH.js',
    ]);
    // The export panel's chunk too, which the page loads on use.
    const built = await readdir(BUILT);
    const chunks = built.filter((name) => /\.(js|css)$/.test(name)).map((name) => `/static/assets/${name}`);
    expect(chunks).toEqual(expect.arrayContaining([...urls, expect.stringMatching(/^\/static\/assets\/exports-[\w-]{8}\.js$/)]));
    for (const url of chunks) {
      const reply = await getBytes(`${stack.edge}${url}`, { 'accept-encoding': 'gzip' });
      expect({ url, status: reply.status }).toEqual({ url, status: 200 });
      expect(reply.headers['cache-control']).toBe(IMMUTABLE);
      expect(reply.headers['content-encoding']).toBe('gzip');
      expect(reply.headers['content-type']).toMatch(url.endsWith('.js') ? /javascript/ : /^text\/css/);
      const original = await readFile(join(BUILT, url.replace('/static/assets/', '')));
      expect(gunzipSync(reply.body).equals(original)).toBe(true);
      // Minified: no line of the file is indented.
      expect(original.toString('utf8')).not.toMatch(/\n {2,}\S/);
    }
    // Brotli from the .br where this nginx has ngx_brotli's brotli_static (Debian's libnginx-mod-http-brotli-static; CI installs it).
    const brotli = await getBytes(`${stack.edge}${urls[1]}`, { 'accept-encoding': 'br, gzip' });
    expect(brotli.headers['content-encoding']).toBe(BROTLI_MODULE ? 'br' : 'gzip');
    // Without gzip in the request: the file as it is.
    const plain = await request(`${stack.edge}${urls[1]}`);
    expect(plain.headers['content-encoding']).toBeUndefined();
    // The page's line is in the app's access log (written after its response); no asset's is.
    await stack.proc.waitFor(/GET \/guestbook /);
    expect(accessLogLines(stack.proc.output, '/static/assets/')).toEqual([]);
  });

  it("answers an asset nginx lacks (another release's) from the app's build; a name no build has is 404", async () => {
    const stack = await stackWithAssets();
    const [css] = assetUrls((await request(`${stack.edge}/guestbook`)).body);
    const name = css!.replace('/static/assets/', '');
    await rm(join(stack.served, name));
    await rm(join(stack.served, `${name}.gz`));
    const fallback = await request(`${stack.edge}${css}`);
    expect(fallback.status).toBe(200);
    expect(fallback.headers['cache-control']).toBe(IMMUTABLE);
    expect(fallback.body).toBe(await readFile(join(BUILT, name), 'utf8'));
    // The app answered it: its access log line (written after the response) comes, once.
    await stack.proc.waitFor(new RegExp(`"GET ${css!.replaceAll('.', '\\.')} HTTP/1\\.1" 200 `));
    expect(accessLogLines(stack.proc.output, css!)).toHaveLength(1);
    const unknown = await request(`${stack.edge}/static/assets/guestbook-AAAAAAAA.js`);
    expect(unknown.status).toBe(404);
  });

  it('finds a file of another release on whichever web replica has it (two upstreams, nginx going on past a 404)', async () => {
    // Two web replicas of two releases, as DNS gives nginx two addresses for `web` during a rolling
    // deploy: this stack's gantry (the current build), and one serving an older build's file only.
    const older = await mkdtemp(join(tmpdir(), 'gantry-older-release-'));
    await writeFile(join(older, 'guestbook-0lderRel.js'), 'console.log("the older release");\n');
    const olderPort = await freePort();
    const olderReplica = gantry(['serve', '--bind', `127.0.0.1:${olderPort}`, 'apps/asset-server.mjs'], {
      cwd: FIXTURES,
      env: { ASSETS_DIR: older },
    });
    await olderReplica.waitFor(/listening at/);
    const templates = await mkdtemp(join(tmpdir(), 'gantry-two-upstreams-'));
    const template = await readFile(join(GANTRY_TEMPLATES, 'gantry.conf.template'), 'utf8');
    const twoServers = template.replace(
      'server ${GANTRY_UPSTREAM} max_fails=0;',
      `server \${GANTRY_UPSTREAM} max_fails=0;\n    server 127.0.0.1:${olderPort} max_fails=0;`,
    );
    expect(twoServers).not.toBe(template);
    await writeFile(join(templates, 'gantry.conf.template'), twoServers);
    const stack = await startStack(['--nginx-templates', templates, ...APP], { DB_CONNECTION_STRING: database });
    // The older release's file: not on nginx's disk, not on this stack's replica, only on the older one.
    // Round-robin starts on either replica; every request must find it (without going on past the
    // first 404, about half would not). The current build's file comes from nginx's disk.
    const [current] = assetUrls((await request(`${stack.edge}/guestbook`)).body);
    for (let i = 0; i < 6; i++) {
      for (const [url, body] of [
        ['/static/assets/guestbook-0lderRel.js', 'console.log("the older release");\n'],
        [current!, await readFile(join(BUILT, current!.replace('/static/assets/', '')), 'utf8')],
      ] as const) {
        const reply = await request(`${stack.edge}${url}`);
        expect({ url, status: reply.status, same: reply.body === body }).toEqual({ url, status: 200, same: true });
      }
    }
    // A name no replica has is still 404, after asking both.
    expect((await request(`${stack.edge}/static/assets/guestbook-AAAAAAAA.js`)).status).toBe(404);
  });
});
