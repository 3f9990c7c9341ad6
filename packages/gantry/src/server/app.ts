/**
 * Loads "module[:export]" into a request handler. The shapes it recognises, in order:
 *
 * - a `{ fetch(request) }` object (Hono, srvx, itty-router, Bun/Deno-style modules): adapted once to node:http;
 * - a Fastify instance (`routing` + `ready`): awaited, then its router serves, and `close()` runs on stop;
 * - a Koa app (`callback` + `use`): its `callback()`;
 * - a function of two or more parameters: a node `(req, res)` listener (an Express app is one);
 * - a function of zero or one parameter: a factory `(context) => app`, sync or async, called once per
 *   worker and expected to return one of the shapes above.
 *
 * Edge cases of the guess: a listener written as `(...args) => ...` has length 0 and would be taken for a
 * factory; name the arity, or wrap it. A module with no default export but a top-level `fetch` export is
 * a fetch app (the module namespace itself).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { relative } from 'node:path';
import { ErrorCode, ExitCode, GantryError, describeError } from '../errors.js';
import { importFile, resolveModule } from '../module-loader.js';
import type { FetchApp } from './fetch-adapter.js';
import { setRoute } from './route.js';
import type { Scheme } from './proxy.js';

/** A node request listener; it may be async (its rejection is answered with 500, not a crash). */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => unknown;

/** What a worker serves: the app reduced to one call, with gantry's view of the request's scheme. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse, scheme: Scheme) => unknown;

export interface LoadedApp {
  readonly kind: 'fetch' | 'fastify' | 'koa' | 'node';
  readonly handle: RequestHandler;
  /** Called once the worker has drained, so the app can release its resources. */
  readonly close?: () => Promise<unknown>;
}

export interface AppContext {
  /** 1-based, stable across respawns of the same slot. */
  readonly workerId: number;
}

export interface LoadOptions {
  readonly cwd: string;
  readonly context: AppContext;
  /** Import the module again even if this process loaded it before (preload on reload). */
  readonly fresh?: boolean;
  /** Have the framework say which route pattern each request matched (for metrics). */
  readonly trackRoutes?: boolean;
  /** Install FastResponse as the global Response if the app is a fetch app. */
  readonly fastResponse?: boolean;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

export function parseAppSpec(spec: string): { module: string; exportName: string | undefined } {
  const colon = spec.lastIndexOf(':');
  const tail = spec.slice(colon + 1);
  if (colon > 0 && IDENTIFIER.test(tail)) return { module: spec.slice(0, colon), exportName: tail };
  return { module: spec, exportName: undefined };
}

function appLoadError(message: string): GantryError {
  return new GantryError(ErrorCode.APP_EXPORT, message, { exitCode: ExitCode.APP_LOAD_ERROR });
}

function pick(namespace: Record<string, unknown>, exportName: string | undefined, label: string): unknown {
  if (exportName !== undefined) {
    if (exportName in namespace) return namespace[exportName];
    const names = Object.keys(namespace).join(', ') || 'none';
    throw appLoadError(`${label} has no export named "${exportName}" (its exports: ${names}).`);
  }
  if (namespace.default !== undefined) return namespace.default;
  if (typeof namespace.fetch === 'function') return namespace;
  const names = Object.keys(namespace);
  throw appLoadError(
    `${label} has no default export. Export the app as default, or name it: ${label}:<export>` +
      (names.length > 0 ? ` (its exports: ${names.join(', ')}).` : '.'),
  );
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') return `a function of ${value.length} parameters`;
  if (typeof value === 'object') return `an object with keys ${Object.keys(value).slice(0, 8).join(', ') || '(none)'}`;
  return `a ${typeof value}`;
}

function hasMethods(value: object, ...names: string[]): boolean {
  return names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function');
}

interface FastifyLike {
  routing: NodeListener;
  ready(): Promise<unknown>;
  close(): Promise<unknown>;
  addHook(
    name: 'onRequest',
    hook: (request: { raw: IncomingMessage; routeOptions?: { url?: string } }, reply: unknown, done: () => void) => void,
  ): unknown;
}

/** Fastify knows each request's route pattern; a hook hands it to gantry's metrics (setRoute). */
function trackFastifyRoutes(fastify: FastifyLike): void {
  try {
    fastify.addHook('onRequest', (request, _reply, done) => {
      const pattern = request.routeOptions?.url;
      if (pattern !== undefined) setRoute(request.raw, pattern);
      done();
    });
  } catch {
    // The app called ready() itself: hooks can no longer be added; its requests count as route "other".
  }
}

async function toLoadedApp(value: unknown, label: string, options: LoadOptions, allowFactory: boolean): Promise<LoadedApp> {
  if (typeof value === 'function') {
    if (value.length >= 2) {
      const listener = value as NodeListener;
      return { kind: 'node', handle: (req, res) => listener(req, res) };
    }
    if (allowFactory) {
      const made: unknown = await (value as (context: AppContext) => unknown)(options.context);
      return toLoadedApp(made, `the app returned by ${label}`, options, false);
    }
  } else if (typeof value === 'object' && value !== null) {
    if (hasMethods(value, 'fetch')) {
      const app = value as FetchApp & { close?: () => Promise<unknown> };
      // Loaded for fetch apps only: it brings in undici (Request, Response), which node apps need not pay for.
      const { fetchHandler } = await import('./fetch-adapter.js');
      if (options.fastResponse) (await import('./fast-response.js')).installFastResponse();
      return {
        kind: 'fetch',
        handle: fetchHandler(app),
        ...(typeof app.close === 'function' ? { close: () => app.close!() } : {}),
      };
    }
    if (hasMethods(value, 'routing', 'ready', 'close')) {
      const fastify = value as FastifyLike;
      if (options.trackRoutes) trackFastifyRoutes(fastify);
      await fastify.ready();
      return { kind: 'fastify', handle: (req, res) => fastify.routing(req, res), close: () => fastify.close() };
    }
    if (hasMethods(value, 'callback', 'use')) {
      const listener = (value as { callback(): NodeListener }).callback();
      return { kind: 'koa', handle: (req, res) => listener(req, res) };
    }
  }
  throw appLoadError(
    `${label} is ${describeValue(value)}; expected a node (req, res) listener, a { fetch } app, ` +
      'an Express, Fastify, Koa or Hono app, or a function returning one.',
  );
}

/**
 * Loads the app in a worker. Errors say which kind of failure it was: GANTRY_ERR_APP_NOT_FOUND and
 * GANTRY_ERR_APP_EXPORT (exit 4) for a wrong spec; anything the app throws is GANTRY_ERR_APP_BOOT (exit 3),
 * unless it is a GantryError of its own (an app configuration error keeps its exit code 2).
 */
export async function loadApp(spec: string, options: LoadOptions): Promise<LoadedApp> {
  const { cwd } = options;
  const { module, exportName } = parseAppSpec(spec);
  const file = resolveModule(module, cwd, 'app');
  const label = relative(cwd, file) || file;
  let namespace: Record<string, unknown>;
  try {
    namespace = await importFile(file, cwd, { fresh: options.fresh ?? false });
  } catch (error) {
    throw bootError(error, `The app ${label} failed to load`);
  }
  const value = pick(namespace, exportName, label);
  try {
    return await toLoadedApp(value, exportName ? `${label}:${exportName}` : label, options, true);
  } catch (error) {
    throw bootError(error, `The app ${label} failed to start`);
  }
}

function bootError(error: unknown, prefix: string): GantryError {
  if (error instanceof GantryError) return error;
  const missing = (error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND';
  return new GantryError(ErrorCode.APP_BOOT, `${prefix}: ${describeError(error)}`, {
    exitCode: ExitCode.WORKER_BOOT_ERROR,
    cause: error,
    showCause: !missing,
  });
}
