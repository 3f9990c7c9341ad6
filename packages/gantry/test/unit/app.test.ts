import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, ExitCode, GantryError } from '../../src/errors.js';
import { type LoadOptions, type LoadedApp, loadApp, parseAppSpec } from '../../src/server/app/load.js';
import { FIXTURES } from '../helpers/process.js';
import { request } from '../helpers/http.js';
import { type InProcessServer, serveInProcess } from '../helpers/in-process.js';

const options = { cwd: FIXTURES, context: { workerId: 7, workers: 2 }, reportError: () => {} };
let server: InProcessServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(app: LoadedApp): Promise<string> {
  server = await serveInProcess((req, res) => app.handle(req, res, 'http'));
  return server.url;
}

async function loadError(spec: string, extra: Partial<LoadOptions> = {}): Promise<GantryError> {
  try {
    await loadApp(spec, { ...options, ...extra });
  } catch (error) {
    if (error instanceof GantryError) return error;
    throw error;
  }
  throw new Error(`${spec} loaded`);
}

describe('loading an app', () => {
  it.each([
    ['apps/express-app.mjs', 'node', 'express says hi to you'],
    ['apps/koa-app.mjs', 'koa', 'koa says hi to you'],
    ['apps/hono-app.mjs', 'fetch', 'hono says hi to you'],
    ['apps/fastify-app.mjs:app', 'fastify', 'fastify says hi to you'],
    ['apps/node-app.mjs', 'node', 'hello from node'],
    ['apps/fetch-app.mjs', 'fetch', 'hello from fetch'],
  ])('serves %s unchanged (%s)', async (spec, kind, text) => {
    const app = await loadApp(spec, options);
    expect(app.kind).toBe(kind);
    const reply = await request(`${await serve(app)}/?name=you`);
    expect(reply.status).toBe(200);
    expect(reply.body).toBe(text);
  });

  it('calls a factory with the worker context', async () => {
    const app = await loadApp('./apps/factory-app.mjs', options);
    expect((await request(await serve(app))).body).toBe('worker 7');
  });

  it('gives a Fastify app a close() that closes it, running its onClose hooks', async () => {
    const fixture = (await import(`${FIXTURES}apps/fastify-app.mjs`)) as { closed: { count: number } };
    const app = await loadApp('apps/fastify-app.mjs:app', options);
    const before = fixture.closed.count;
    await app.close?.();
    expect(fixture.closed.count).toBe(before + 1);
  });

  it('splits module:export', () => {
    expect(parseAppSpec('dist/app.js:server')).toEqual({ module: 'dist/app.js', exportName: 'server' });
    expect(parseAppSpec('dist/app.js')).toEqual({ module: 'dist/app.js', exportName: undefined });
    expect(parseAppSpec('@scope/pkg:app')).toEqual({ module: '@scope/pkg', exportName: 'app' });
  });

  it('says a missing module is missing (exit 4)', async () => {
    const error = await loadError('apps/nope.mjs');
    expect(error.code).toBe(ErrorCode.APP_NOT_FOUND);
    expect(error.exitCode).toBe(ExitCode.APP_LOAD_ERROR);
    expect(error.message).toMatch(/Cannot find the app apps\/nope\.mjs: no such file .*apps\/nope\.mjs\./);
  });

  it('says what it found when the export is not an app (exit 4)', async () => {
    const error = await loadError('apps/not-an-app.mjs');
    expect(error.exitCode).toBe(ExitCode.APP_LOAD_ERROR);
    expect(error.message).toMatch(/apps\/not-an-app\.mjs is a number; expected a node \(req, res\) listener, a \{ fetch \} app/);
    const missing = await loadError('apps/not-an-app.mjs:server');
    expect(missing.message).toBe('apps/not-an-app.mjs has no export named "server" (its exports: default, helper).');
  });

  it('reports an app that throws while loading as a boot error with its stack (exit 3)', async () => {
    const error = await loadError('apps/throws-at-import.mjs');
    expect(error.code).toBe(ErrorCode.APP_BOOT);
    expect(error.exitCode).toBe(ExitCode.WORKER_BOOT_ERROR);
    expect(error.message).toBe('The app apps/throws-at-import.mjs failed to load: the database is unreachable');
    expect(error.showCause).toBe(true);
  });

  it.each([
    ["TypeScript's export default compiled to CommonJS (NestJS)", 'apps/commonjs-default.cjs', 'from a CommonJS default export'],
    [
      'the one handler-shaped export of a module without a default (SvelteKit handler.js)',
      'apps/handler-export.mjs',
      'from the handler export',
    ],
    ['an http.Server that does not listen', 'apps/server-export.mjs', 'from an exported http.Server'],
  ])('serves %s', async (_, spec, text) => {
    const app = await loadApp(spec, options);
    expect((await request(await serve(app))).body).toBe(text);
  });

  it('says what it assumed when a (...args) listener is taken for a factory, and how to fix it', async () => {
    const error = await loadError('apps/rest-args-listener.mjs');
    expect(error.exitCode).toBe(ExitCode.WORKER_BOOT_ERROR);
    expect(error.message).toMatch(
      /^gantry took apps\/rest-args-listener\.mjs \(a function of 0 declared parameters\) for an app factory and called it with \{ workerId \}: it threw .*If it is a request listener \(req, res\), serve it with --app-kind listener/,
    );
    const app = await loadApp('apps/rest-args-listener.mjs', { ...options, appKind: 'listener' });
    expect((await request(await serve(app))).body).toBe('a (...args) listener');
  });

  it("serves the server an app starts itself, which never binds its own port, and reports gantry's address", async () => {
    const app = await loadApp('apps/listens-itself.mjs', {
      ...options,
      reportedAddress: { kind: 'tcp', host: '127.0.0.1', port: 8123 },
      argv: ['--flag', 'value'],
    });
    expect(app.kind).toBe('server');
    const url = await serve(app);
    expect((await request(url)).body).toMatch(/^served by its own server in \d+$/);
    expect(JSON.parse((await request(`${url}/address`)).body)).toEqual({ address: '127.0.0.1', family: 'IPv4', port: 8123 });
    expect(JSON.parse((await request(`${url}/argv`)).body)).toEqual(['--flag', 'value']);
    // Its own port (PORT, default 3000) was never bound.
    await expect(request('http://127.0.0.1:3000/', { timeoutMs: 1000 })).rejects.toThrow(/ECONNREFUSED/);
  });

  it('says so when a module exports no app and starts no server within the time given', async () => {
    const error = await loadError('apps/exports-nothing.mjs', { adoptWithinMs: 200 });
    expect(error.exitCode).toBe(ExitCode.APP_LOAD_ERROR);
    expect(error.message).toBe(
      'apps/exports-nothing.mjs exports no app and started no server of its own within 0.2 s. Export the app as default, name it (apps/exports-nothing.mjs:<export>), or have it listen with an http.Server.',
    );
  });

  it('refuses an unknown package name with a hint', async () => {
    const error = await loadError('no-such-package-anywhere');
    expect(error.message).toMatch(/no such package is installed .* A file path must start with \.\/ or \//);
  });
});
