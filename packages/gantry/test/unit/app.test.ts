import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, ExitCode, GantryError } from '../../src/errors.js';
import { type LoadedApp, loadApp, parseAppSpec } from '../../src/server/app.js';
import { FIXTURES } from '../helpers/process.js';
import { request } from '../helpers/http.js';
import { type InProcessServer, serveInProcess } from '../helpers/in-process.js';

const options = { cwd: FIXTURES, context: { workerId: 7 }, reportError: () => {} };
let server: InProcessServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(app: LoadedApp): Promise<string> {
  server = await serveInProcess((req, res) => app.handle(req, res, 'http'));
  return server.url;
}

async function loadError(spec: string): Promise<GantryError> {
  try {
    await loadApp(spec, options);
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

  it('refuses an unknown package name with a hint', async () => {
    const error = await loadError('no-such-package-anywhere');
    expect(error.message).toMatch(/no such package is installed .* A file path must start with \.\/ or \//);
  });
});
