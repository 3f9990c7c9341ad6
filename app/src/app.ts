/**
 * The seed's app/app.py on Fastify, served by gantry: `gantry serve dist/src/app.js`, grown into a
 * data-backed app: the seed's page, a guestbook on PostgreSQL (guestbook/), CPU work on gantry's
 * threads. The default export is a factory; gantry calls it once per worker and serves the Fastify
 * instance, whose close() (after the worker has drained) ends the database pool.
 */
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { AppContext } from 'gantry';
import { assetTags } from 'gantry/assets';
import { runInThread } from 'gantry/threads';
import { PgBoss, fromKysely } from 'pg-boss';
import { config } from './config/index.js';
import { connectionOptions } from './db/connection.js';
import { openDatabase } from './db/database.js';
import { MessageStore } from './guestbook/messages.js';
import { guestbookRoutes } from './guestbook/routes.js';
import { ExportStore } from './exports/exports.js';
import { exportRoutes } from './exports/routes.js';
import { InvalidInput, registerProblemHandlers } from './http/problems.js';
import { ExportFeed, MessageFeed } from './live/feeds.js';
import { Notifications } from './live/notifications.js';
import { WEBSOCKET_MAX_PAYLOAD, liveRoutes } from './live/routes.js';
import { indexPage } from './page.js';
import type { PrimesResult } from './tasks/primes.js';

const PRIMES_TASK = new URL('./tasks/primes.js', import.meta.url);
/** The frontend's build (vite.config.ts): its manifest, and its hashed files under /static/assets/. */
const FRONTEND = new URL('../public/', import.meta.url);
const MAX_PRIMES_LIMIT = 200_000_000;

/**
 * nginx's access log (and gantry's, if on) record every request: Fastify's own line per request moves
 * to debug, while its error lines stay. Log lines name the request id `request_id`.
 */
class RequestLogsAtDebug extends LogController {
  constructor() {
    super({ requestIdLogLabel: 'request_id' });
  }

  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ method: request.method, url: request.url }, 'incoming request');
  }

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    if (error) return super.requestCompleted(error, request, reply);
    reply.log.debug({ statusCode: reply.statusCode, responseTime: reply.elapsedTime }, 'request completed');
  }
}

export default function buildApp(context?: AppContext) {
  const app = Fastify({
    // gantry removes X-Forwarded-* headers unless they come from a trusted proxy (forwarded-allow-ips),
    // so trusting exactly one hop is safe: request.ip is the address nginx saw, never a spoofed one.
    trustProxy: (_address, hop) => hop < 1,
    logger: {
      level: config.LOG_LEVEL,
      // ISO times, like gantry's own lines.
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
      ...(config.LOG_FORMAT === 'text' ? { transport: { target: 'pino-pretty', options: { ignore: 'pid,hostname' } } } : {}),
    },
    // nginx makes a request id ($request_id) and forwards it: every log line of a request carries it.
    requestIdHeader: 'x-request-id',
    logController: new RequestLogsAtDebug(),
  });
  // The configuration, for the log: secrets are not enumerable, so they cannot appear here.
  const profile = process.env.APP_ENV ?? 'Dev';
  app.log.info({ profile, config }, 'configuration loaded');
  const page = indexPage(config);
  registerProblemHandlers(app, { exposeErrors: profile.toLowerCase() !== 'production' });

  // Read once, here: a build without the page's entry stops the worker's boot, naming what it has.
  const frontend = assetTags({
    manifest: new URL('.vite/manifest.json', FRONTEND),
    base: '/static/',
    devServer: config.FRONTEND_DEV_SERVER,
  });
  const guestbookAssets = frontend.tags('guestbook/main.ts');
  // nginx serves the hashed files from disk; it asks the app only for one it lacks (a page of another
  // release, during a rolling deploy: see README), so the app serves its own build's too.
  if (!config.FRONTEND_DEV_SERVER)
    void app.register(fastifyStatic, {
      root: fileURLToPath(new URL('assets/', FRONTEND)),
      prefix: '/static/assets/',
      decorateReply: false,
      index: false,
      preCompressed: true,
      immutable: true,
      maxAge: '365d',
    });

  const database = openDatabase(config, app.log);
  app.addHook('onClose', () => database.close());
  const messages = new MessageStore(database.db);
  const exports = new ExportStore(database.db);
  void app.register(guestbookRoutes(messages, guestbookAssets));
  // Web workers only send jobs (on the app's own pool); the job workers (gantry run) take them. Started
  // on the first export, so a worker whose schema is behind boots and reports it instead of failing.
  const boss = new PgBoss({ db: fromKysely(database.db), migrate: false, supervise: false, schedule: false });
  boss.on('error', (error) => app.log.warn({ err: error.message }, 'the queue had an error'));
  let started: Promise<PgBoss> | undefined;
  const queue = () =>
    (started ??= boss.start().catch((error: unknown) => {
      started = undefined; // the next export tries again
      throw error;
    }));
  app.addHook('onClose', () => (started ? boss.stop({ graceful: false, close: false }) : undefined));
  void app.register(exportRoutes(exports, queue));

  // Live updates, from the database's notifications (one LISTEN connection per worker, in the budget).
  const notifications = new Notifications(connectionOptions(config), app.log);
  const messageFeed = new MessageFeed(messages, notifications, app.log);
  const exportFeed = new ExportFeed(exports, notifications, app.log);
  notifications.start();
  app.addHook('onClose', () => notifications.close());
  // gantry hands its upgrades to Fastify's server, where this plugin takes them.
  void app.register(fastifyWebsocket, { options: { maxPayload: WEBSOCKET_MAX_PAYLOAD } });
  void app.register(liveRoutes({ messages, exports, messageFeed, exportFeed, workerId: context?.workerId ?? 1 }));

  app.get('/', (_request, reply) => reply.type('text/html; charset=utf-8').send(page(new Date())));

  // What the app knows about the caller (the client address and scheme gantry and nginx vouch for),
  // and which server answered (a container, when scaled out).
  app.get('/whoami', (request) => ({
    client: request.ip,
    scheme: request.protocol,
    host: request.host,
    server: hostname(),
  }));

  // CPU work off the event loop: the seed's "quick burst CPU intensive tasks", on gantry's thread pool.
  app.get<{ Querystring: { below?: string } }>('/primes', async (request) => {
    const below = Number(request.query.below ?? 1_000_000);
    if (!Number.isInteger(below) || below < 0 || below > MAX_PRIMES_LIMIT) {
      throw new InvalidInput([{ parameter: 'below', detail: `must be an integer from 0 to ${MAX_PRIMES_LIMIT}` }]);
    }
    const started = performance.now();
    const result = await runInThread<PrimesResult>(PRIMES_TASK, { below });
    const ms = Math.round(performance.now() - started);
    request.log.info({ below, count: result.count, ms }, 'counted primes');
    return { ...result, ms };
  });

  return app;
}
