/**
 * The framework matrix: real builds of NestJS, Next.js (standalone and a custom server), SvelteKit
 * (adapter-node, its server and its handler), React Router 7 (framework mode, react-router-serve), Astro
 * (node adapter, standalone) and Nuxt (node-server), each built the framework's own way (the projects
 * beside this file) and served unchanged by `gantry stack` (nginx in front of `gantry serve`, 2 workers),
 * as each project's gantry*.json says. For each:
 * - a server-rendered page with a parameter and an API route, through nginx and directly, from both workers;
 * - a content-hashed asset the page links, answered by nginx from disk with immutable caching (the app's
 *   access log never sees it);
 * - a rebuild (the build marker v1 -> v2) and a SIGHUP under load: no failed request, the new build served;
 * - a SIGTERM with a request in flight: it finishes, and the stack exits 0.
 * Then gantry itself from `npm pack`, installed into a scratch app outside the repository, runs `gantry stack`.
 *
 * `npm run test:frameworks` (run by .ci/run); the projects are in test/frameworks/. `npm ci` and the first build are cached:
 * they are skipped while the project's lockfile and sources are those of the last run (a stamp in its
 * node_modules).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { request } from '../../packages/gantry/test/helpers/http.js';
import { startLoad } from '../../packages/gantry/test/helpers/load.js';
import { REPO_ROOT, Running, cleanEnv, cleanUpProcesses, freePort, gantry } from '../../packages/gantry/test/helpers/process.js';
import { describeWith } from '../../packages/gantry/test/helpers/requirements.js';
import { nginx } from '../../packages/gantry/test/helpers/stack.js';
import { stopwatch } from '../support/timings.js';

cleanUpProcesses();

const run = promisify(execFile);
const HERE = join(REPO_ROOT, 'test/frameworks');

interface ServeSpec {
  readonly serve: readonly string[];
  readonly appArgs: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** [URL prefix, directory, immutable] */
  readonly static: readonly (readonly [string, string, boolean])[];
}

const { timings, timed } = stopwatch();

/** Every file of `dir` but node_modules and build outputs, for the cache's stamp. */
async function sourceFiles(dir: string): Promise<string[]> {
  const skip = new Set(['node_modules', '.next', 'build', 'dist', '.output', '.nuxt', '.svelte-kit', '.react-router', '.astro']);
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (skip.has(entry.name) || (dir.endsWith('/public') && entry.name === 'assets')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await sourceFiles(path)));
    else files.push(path);
  }
  return files.sort();
}

async function stampOf(project: string): Promise<string> {
  const hash = createHash('sha256');
  for (const file of await sourceFiles(project)) hash.update(relative(project, file)).update(await readFile(file));
  return hash.digest('hex');
}

const npm = (project: string, args: readonly string[]) =>
  run('npm', args, {
    cwd: project,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    maxBuffer: 64 << 20,
    timeout: 600_000,
  });

/** npm ci and the build, unless node_modules holds the stamp of these very sources. */
async function prepare(name: string): Promise<void> {
  const project = join(HERE, name);
  const stampFile = join(project, 'node_modules/.gantry-matrix-stamp');
  const stamp = await stampOf(project);
  if (existsSync(stampFile) && (await readFile(stampFile, 'utf8')) === stamp) return;
  await timed(`${name}: npm ci`, () => npm(project, ['ci', '--no-audit', '--no-fund']));
  await timed(`${name}: build`, () => npm(project, ['run', 'build']));
  await writeFile(stampFile, stamp);
}

async function setBuild(name: string, build: string): Promise<void> {
  const file = join(HERE, name, 'src/build-mark.ts');
  await writeFile(file, (await readFile(file, 'utf8')).replace(/BUILD = '[^']*'/, `BUILD = '${build}'`));
}

/** The first link or script of the page under one of the immutable prefixes, as an absolute path. */
function hashedAsset(html: string, prefixes: readonly string[]): string | undefined {
  for (const [, url = ''] of html.matchAll(/(?:href|src)="([^"]+)"/g)) {
    const path = new URL(url, 'http://x/hello/ada').pathname;
    if (prefixes.some((prefix) => path.startsWith(prefix)) && /\.(css|js)$/.test(path)) return path;
  }
  return undefined;
}

const MATRIX: readonly [string, string][] = [
  ['nest', 'gantry.json'],
  ['next', 'gantry.json'],
  ['next', 'gantry.custom.json'],
  ['sveltekit', 'gantry.json'],
  ['sveltekit', 'gantry.handler.json'],
  ['react-router', 'gantry.json'],
  ['astro', 'gantry.json'],
  ['nuxt', 'gantry.json'],
];

afterAll(() => {
  process.stdout.write(`framework matrix timings (s): ${JSON.stringify(timings)}\n`);
});

describeWith(nginx, 'every framework, unchanged, under gantry', () => {
  it.each(MATRIX)(
    '%s (%s): pages, API, assets from nginx, a reload after a rebuild, a graceful stop',
    { timeout: 600_000 },
    async (name, specFile) => {
      const project = join(HERE, name);
      await prepare(name);
      const spec = JSON.parse(await readFile(join(project, specFile), 'utf8')) as ServeSpec;
      const [module, ...serveFlags] = spec.serve;
      const mounts = spec.static.flatMap(([prefix, dir, immutable]) => [
        immutable ? '--immutable-static' : '--static',
        `${prefix}=${dir}`,
      ]);
      const [nginxPort, appPort] = [await freePort(), await freePort()];
      const runDir = await mkdtemp(join(tmpdir(), `gantry-matrix-${name}-`));
      const stack = gantry(
        [
          'stack',
          '--nginx-port',
          String(nginxPort),
          '--app-port',
          String(appPort),
          '--run-dir',
          runDir,
          '--workers',
          '2',
          '--access-log',
          '-',
          '--access-log-format',
          'access %(p)s %(U)s',
          ...mounts,
          ...serveFlags,
          module as string,
          ...(spec.appArgs.length > 0 ? ['--', ...spec.appArgs] : []),
        ],
        { cwd: project, env: spec.env },
      );
      await timed(`${name}/${specFile}: up`, () => stack.waitFor(/the stack is up/, 120_000));
      const edge = `http://127.0.0.1:${nginxPort}`;
      const direct = `http://127.0.0.1:${appPort}`;

      // A server-rendered page with a parameter, and an API route, through nginx and directly.
      for (const base of [edge, direct]) {
        const page = await request(`${base}/hello/ada`);
        expect(page.status).toBe(200);
        expect(page.headers['content-type']).toMatch(/^text\/html/);
        expect(page.body).toContain('Hello, ada!');
        expect(page.body).toContain('build v1');
        const ping = await request(`${base}/api/ping`);
        expect(ping.headers['content-type']).toMatch(/^application\/json/);
        expect(JSON.parse(ping.body)).toEqual({ ok: true, build: 'v1' });
      }
      // Both workers answer (new connections are spread over them).
      for (let i = 0; i < 20; i++) await request(`${direct}/api/ping`);
      const pids = new Set(stack.matches(/^access <(\d+)> \/api\/ping$/gm).map(([, pid]) => pid));
      expect(pids.size).toBe(2);

      // A content-hashed asset the page links: from nginx's disk, cached a year, immutable; never the app's.
      const immutablePrefixes = spec.static.filter(([, , immutable]) => immutable).map(([prefix]) => prefix);
      const asset = hashedAsset((await request(`${edge}/hello/ada`)).body, immutablePrefixes);
      expect(asset, 'the page links a hashed asset').toBeDefined();
      const served = await request(`${edge}${asset}`);
      expect(served.status).toBe(200);
      expect(served.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(stack.matches(/^access <\d+> (\S+)$/gm).map(([, path]) => path)).not.toContain(asset);

      // Rebuild with v2, then SIGHUP under load: nothing fails, and the new build answers.
      await setBuild(name, 'v2');
      try {
        await timed(`${name}/${specFile}: rebuild`, () => npm(project, ['run', 'build']));
        const load = startLoad(`${edge}/api/ping`, { connections: 8 });
        await load.waitFor(100);
        stack.signal('SIGHUP');
        await stack.waitFor(/reload complete[\s\S]*exited with code 0: stopped[\s\S]*exited with code 0: stopped/, 60_000);
        await load.waitFor(100);
        const result = await load.stop();
        expect({ failed: result.failed, errors: result.errors }).toEqual({ failed: 0, errors: {} });
        expect(JSON.parse((await request(`${edge}/api/ping`)).body)).toEqual({ ok: true, build: 'v2' });
        expect((await request(`${edge}/hello/ada`)).body).toContain('build v2');

        // SIGTERM with a request in flight: it finishes, then everything stops, exit 0.
        const slow = request(`${edge}/api/slow?ms=2000`, { timeoutMs: 20_000 });
        // The frameworks say nothing when a request starts: half a second in, it is in flight.
        await new Promise((resolve) => setTimeout(resolve, 500));
        stack.signal('SIGTERM');
        const reply = await slow;
        expect(reply.status).toBe(200);
        expect(JSON.parse(reply.body)).toEqual({ slept: 2000 });
        expect(await stack.exit(60_000)).toEqual({ code: 0, signal: null });
      } finally {
        await setBuild(name, 'v1');
        await npm(project, ['run', 'build']);
        await writeFile(join(project, 'node_modules/.gantry-matrix-stamp'), await stampOf(project));
      }
    },
  );

  it(
    'runs gantry from its npm tarball in an app outside the repository: gantry stack with its own template',
    { timeout: 300_000 },
    async () => {
      const scratch = await mkdtemp(join(tmpdir(), 'gantry-from-npm-'));
      const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', scratch], {
        cwd: join(REPO_ROOT, 'packages/gantry'),
      });
      const tarball = stdout.trim().split('\n').pop() ?? '';
      expect((await stat(join(scratch, tarball))).size).toBeGreaterThan(0);
      await writeFile(
        join(scratch, 'package.json'),
        JSON.stringify(
          { name: 'scratch-app', private: true, type: 'module', dependencies: { gantry: `file:./${tarball}` } },
          null,
          2,
        ),
      );
      await writeFile(join(scratch, 'app.mjs'), "export default (req, res) => res.end('scratch app says hi');\n");
      await timed('npm pack + install', () =>
        run('npm', ['install', '--no-audit', '--no-fund'], { cwd: scratch, timeout: 300_000 }),
      );
      const [nginxPort, appPort] = [await freePort(), await freePort()];
      const bin = join(scratch, 'node_modules/gantry/bin/gantry.js');
      const proc = new Running(
        process.execPath,
        [bin, 'stack', '--nginx-port', String(nginxPort), '--app-port', String(appPort), 'app.mjs'],
        {
          cwd: scratch,
          env: cleanEnv(),
        },
      );
      await proc.waitFor(/the stack is up/, 60_000);
      expect((await request(`http://127.0.0.1:${nginxPort}/`)).body).toBe('scratch app says hi');
      proc.signal('SIGTERM');
      expect(await proc.exit()).toEqual({ code: 0, signal: null });
    },
  );
});
