/**
 * Loads "module[:export]" into a request handler. Which export, in order: the one named; the default
 * export (unwrapped from CommonJS's `{ __esModule, default }`; an empty CommonJS `module.exports` counts as
 * none); the only one named `handler`, `listener`, `app` or `createApp` (SvelteKit's handler.js, Nitro's
 * listener); the module itself when it has a top-level `fetch`. What it may be, in order:
 *
 * - a `{ fetch(request) }` object (Hono, srvx, itty-router, Bun/Deno-style modules): adapted once to node:http;
 * - a Fastify instance (`routing` + `ready`): awaited, then its router serves (and the upgrade listeners of
 *   its `server`, @fastify/websocket's), and `close()` runs on stop;
 * - a Koa app (`callback` + `use`): its `callback()`;
 * - a node `http.Server` that does not listen: its request listeners;
 * - a function: a node `(req, res)` listener (an Express app is one), or a factory `(context) => app`,
 *   sync or async, called once per worker and expected to return one of the shapes above. The app-kind
 *   setting says which; `auto` (the default) guesses from the declared parameters: two or more is a
 *   listener, fewer a factory. The guess fails for a listener written `(...args) => ...` (Astro's
 *   middleware handler); a failed guess says what was assumed and that `--app-kind listener` fixes it.
 *
 * A module that exports none of these may start its own server instead (adopt.ts): the first http.Server
 * it listens with, within boot-timeout, is served.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server } from 'node:http';
import { relative } from 'node:path';
import { ErrorCode, GantryError, describeError } from '../../errors.js';
import { importFile, resolveModule } from '../../module-loader.js';
import { type ServerAdoption, adoptingServers } from './adopt.js';
import type { BindAddress } from '../bind.js';
import type { FetchApp } from './fetch.js';
import { setRoute } from '../http/route.js';
import type { RequestHandler, UpgradeHandler } from '../http/service.js';
import type { AppKind } from '../settings.js';
import { withTimeLimit } from '../../time-limit.js';

/** A node request listener; it may be async (its rejection is answered with 500, not a crash). */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => unknown;

export interface LoadedApp {
  readonly kind: 'fetch' | 'fastify' | 'koa' | 'node' | 'server';
  readonly handle: RequestHandler;
  /** For an app served through its own http.Server: that server's 'upgrade' listeners. */
  readonly upgrade?: UpgradeHandler;
  /** Called once the worker has drained, so the app can release its resources. */
  readonly close?: () => Promise<unknown>;
}

export interface AppContext {
  /** 1-based, stable across respawns of the same slot. */
  readonly workerId: number;
  /** How many workers this server runs (its --workers), e.g. for a connection budget. */
  readonly workers: number;
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
  /** What a function export is (default auto). */
  readonly appKind?: AppKind;
  /** How long an app that exports none may take to start a server of its own (default 60 s). */
  readonly adoptWithinMs?: number;
  /** What an adopted server's address() reports (a worker's first bind; none in the primary). */
  readonly reportedAddress?: BindAddress;
  /** In a worker: the app's own arguments; process.argv becomes [node, the app's file, ...these]. */
  readonly argv?: readonly string[];
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

export function parseAppSpec(spec: string): { module: string; exportName: string | undefined } {
  const colon = spec.lastIndexOf(':');
  const tail = spec.slice(colon + 1);
  if (colon > 0 && IDENTIFIER.test(tail)) return { module: spec.slice(0, colon), exportName: tail };
  return { module: spec, exportName: undefined };
}

function appLoadError(message: string): GantryError {
  return new GantryError(ErrorCode.APP_EXPORT, message);
}

/** Export names that hold an app when there is no default export (SvelteKit's handler.js, Nitro's listener). */
const APP_EXPORT_NAMES = ['handler', 'listener', 'app', 'createApp'];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/**
 * A CommonJS module's exports as the ES module loader hands them over: `import()` makes
 * `module.exports` the default, so TypeScript's `export default` compiled to CommonJS (NestJS's
 * layout) arrives as `{ __esModule: true, default: app }`.
 */
function unwrapCommonJs(value: unknown): unknown {
  if (isPlainObject(value) && value.__esModule === true && 'default' in value) return value.default;
  return value;
}

/** Whether a plain object is an app itself ({ fetch }, Fastify, Koa), rather than a bag of exports. */
function isAppObject(value: Record<string, unknown>): boolean {
  return hasMethods(value, 'fetch') || hasMethods(value, 'routing', 'ready', 'close') || hasMethods(value, 'callback', 'use');
}

/**
 * The export to serve (see the header), or undefined when the module exports none: it may then start a
 * server of its own.
 */
function pick(namespace: Record<string, unknown>, exportName: string | undefined, label: string): unknown {
  const fallback = unwrapCommonJs(namespace.default);
  // A default that is a plain object but no app is a CommonJS module's exports: its names count too.
  const exportsBag = isPlainObject(fallback) && !isAppObject(fallback) ? fallback : undefined;
  if (exportName !== undefined) {
    if (exportName in namespace) return unwrapCommonJs(namespace[exportName]);
    if (exportsBag && exportName in exportsBag) return exportsBag[exportName];
    const names = Object.keys(namespace).join(', ') || 'none';
    throw appLoadError(`${label} has no export named "${exportName}" (its exports: ${names}).`);
  }
  if (fallback !== undefined && !exportsBag) return fallback;
  const found = APP_EXPORT_NAMES.filter((name) => namespace[name] !== undefined || exportsBag?.[name] !== undefined);
  if (found.length > 1) {
    throw appLoadError(
      `${label} has no default export and several that could be the app (${found.join(', ')}): name one, ${label}:${found[0]}.`,
    );
  }
  const [name] = found;
  if (name !== undefined) return namespace[name] ?? exportsBag?.[name];
  if (typeof namespace.fetch === 'function') return namespace;
  // A non-empty bag without an app in it is what the module exports: describe it in the error.
  return exportsBag && Object.keys(exportsBag).length > 0 ? exportsBag : undefined;
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
  /** The http.Server Fastify made (never listening under gantry): plugins such as @fastify/websocket take upgrades on it. */
  server?: Server;
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

/** An http.Server's listeners as the app: its 'request' listeners serve, its 'upgrade' listeners upgrade. */
function serverApp(server: Server): LoadedApp {
  return {
    kind: 'server',
    handle: (req, res) => {
      if (!server.emit('request', req, res)) throw new Error("the app's http.Server has no 'request' listener");
    },
    upgrade: (req, socket, head) => {
      if (!server.emit('upgrade', req, socket, head)) socket.destroy();
    },
    // It never listened: 'close' is what its own close() would have said, for the app's cleanup.
    close: () => Promise.resolve(server.emit('close')),
  };
}

/** What gantry assumed when its guess of a function fails, and the setting that fixes it. */
function guessed(label: string, value: { length: number }, problem: string): string {
  return (
    `gantry took ${label} (a function of ${value.length} declared parameters) for an app factory and called it with ` +
    `{ workerId }: ${problem}. If it is a request listener (req, res), serve it with --app-kind listener ` +
    '(GANTRY_APP_KIND=listener, or appKind in the config file).'
  );
}

async function toLoadedApp(value: unknown, label: string, options: LoadOptions, allowFactory: boolean): Promise<LoadedApp> {
  const appKind = options.appKind ?? 'auto';
  if (typeof value === 'function') {
    // What a factory returns is the app: a function there is a listener, whatever its parameters.
    if (appKind === 'listener' || (appKind === 'auto' && value.length >= 2) || !allowFactory) {
      const listener = value as NodeListener;
      return { kind: 'node', handle: (req, res) => listener(req, res) };
    }
    let made: unknown;
    try {
      made = await (value as (context: AppContext) => unknown)(options.context);
    } catch (error) {
      // A factory that fails is a boot error; one declared without parameters may be a listener written
      // (...args) => ..., which fails on the context it was given: say so.
      if (appKind !== 'auto' || value.length > 0) throw error;
      throw new GantryError(ErrorCode.APP_BOOT, guessed(label, value, `it threw ${describeError(error)}`), {
        cause: error,
        showCause: true,
      });
    }
    try {
      return await toLoadedApp(made, `the app returned by ${label}`, options, false);
    } catch (error) {
      if (appKind === 'auto' && error instanceof GantryError && error.code === ErrorCode.APP_EXPORT) {
        throw appLoadError(guessed(label, value, `it returned ${describeValue(made)}, which is no app`));
      }
      throw error;
    }
  }
  if (value instanceof Server) return serverApp(value as Server);
  if (typeof value === 'object' && value !== null) {
    if (hasMethods(value, 'fetch')) {
      const app = value as FetchApp & { close?: () => Promise<unknown> };
      // Loaded for fetch apps only: it brings in undici (Request, Response), which node apps need not pay for.
      const { fetchHandler } = await import('./fetch.js');
      if (options.fastResponse) (await import('./fast-response.js')).installFastResponse();
      return {
        kind: 'fetch',
        handle: fetchHandler(app),
        ...(typeof app.upgrade === 'function' ? { upgrade: (req, socket, head) => app.upgrade!(req, socket, head) } : {}),
        ...(typeof app.close === 'function' ? { close: () => app.close!() } : {}),
      };
    }
    if (hasMethods(value, 'routing', 'ready', 'close')) {
      const fastify = value as FastifyLike;
      if (options.trackRoutes) trackFastifyRoutes(fastify);
      await fastify.ready();
      const { server } = fastify;
      return {
        kind: 'fastify',
        handle: (req, res) => fastify.routing(req, res),
        // Registered by then (ready() ran the plugins): with no 'upgrade' listener, upgrades stay ordinary requests.
        ...(server instanceof Server && server.listenerCount('upgrade') > 0
          ? { upgrade: (req, socket, head) => void server.emit('upgrade', req, socket, head) }
          : {}),
        close: () => fastify.close(),
      };
    }
    if (hasMethods(value, 'callback', 'use')) {
      const listener = (value as { callback(): NodeListener }).callback();
      return { kind: 'koa', handle: (req, res) => listener(req, res) };
    }
  }
  throw appLoadError(
    `${label} is ${describeValue(value)}; expected a node (req, res) listener, a { fetch } app, ` +
      'an Express, Fastify, Koa or Hono app, an http.Server, or a function returning one.',
  );
}

/**
 * Loads the app (in a worker; in the primary for preload and --check-config). Errors say which kind of
 * failure it was: GANTRY_ERR_APP_NOT_FOUND and GANTRY_ERR_APP_EXPORT (exit 4) for a wrong spec; anything
 * the app throws is GANTRY_ERR_APP_BOOT (exit 3), unless it is a GantryError of its own (an app
 * configuration error keeps its exit code 2). An app that starts its own server meanwhile never binds
 * its own port (adopt.ts): if it exports no app, that server is served.
 */
export async function loadApp(spec: string, options: LoadOptions): Promise<LoadedApp> {
  const { cwd } = options;
  const { module, exportName } = parseAppSpec(spec);
  const file = resolveModule(module, cwd, 'app');
  const label = relative(cwd, file) || file;
  // An app's own CLI (react-router-serve) reads its arguments as `node file args...` would give them.
  if (options.argv) process.argv = [process.execPath, file, ...options.argv];
  return adoptingServers(options.reportedAddress, async (adoption) => {
    let namespace: Record<string, unknown>;
    try {
      namespace = await importFile(file, cwd, { fresh: options.fresh ?? false });
    } catch (error) {
      throw bootError(error, `The app ${label} failed to load`);
    }
    const value = pick(namespace, exportName, label);
    if (value === undefined) return serverApp(await adoptedWithin(adoption, namespace, label, options.adoptWithinMs ?? 60_000));
    try {
      return await toLoadedApp(value, exportName ? `${label}:${exportName}` : label, options, true);
    } catch (error) {
      throw bootError(error, `The app ${label} failed to start`);
    }
  });
}

/** The server an app that exports none starts for itself, or an error once `ms` have passed without one. */
function adoptedWithin(adoption: ServerAdoption, namespace: Record<string, unknown>, label: string, ms: number): Promise<Server> {
  return withTimeLimit(adoption.whenAdopted(), ms, () => {
    const names = Object.keys(namespace).filter((name) => name !== 'default');
    throw appLoadError(
      `${label} exports no app${names.length > 0 ? ` (its exports: ${names.join(', ')})` : ''} and started no server of its own ` +
        `within ${ms / 1000} s. Export the app as default, name it (${label}:<export>), or have it listen with an http.Server.`,
    );
  });
}

function bootError(error: unknown, prefix: string): GantryError {
  if (error instanceof GantryError) return error;
  const missing = (error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND';
  return new GantryError(ErrorCode.APP_BOOT, `${prefix}: ${describeError(error)}`, {
    cause: error,
    showCause: !missing,
  });
}
