/**
 * One worker process: loads the app, serves it on the shared listeners, drains on request and exits.
 * Its life follows gunicorn's (workers/base.py): set up (postFork), load the app, serve, and exit on
 * the primary's word. A worker whose app fails to load reports why and exits with a code that stops
 * the whole server instead of a crash loop. Its event loop beats a heartbeat to the primary, and a
 * watchdog thread reports what it was serving if that beat stops.
 */
import { Worker } from 'node:worker_threads';
import { type ExitCodeValue, ErrorCode, ExitCode, GantryError, describeError, exitCodeOf } from '../../errors.js';
import { type Logger, createLogger } from '../../logger.js';
import { THREADS_ENV, closeThreads } from '../../threads.js';
import { type AccessLog, createAccessLog } from '../http/access-log.js';
import { type LoadedApp, loadApp } from '../app/load.js';
import { loadConfigFile } from '../config-file.js';
import { type Hooks, type WorkerContext, runHook } from '../hooks.js';
import { HttpService } from '../http/service.js';
import { BEAT_MS, InFlightBoard } from '../http/in-flight-board.js';
import { AFTER_DRAIN_MS, HANDOFF_WAIT_MS, HEARTBEAT_MS, type WorkerMessage, isPrimaryMessage } from '../messages.js';
import type { WorkerMetrics } from '../http/metrics.js';
import type { ServerSettings } from '../settings.js';
import type { WorkerSpec } from '../messages.js';
import { withTimeLimit } from '../../time-limit.js';
import type { WatchdogData } from './watchdog.js';

/** After an uncaught exception, in-flight requests get this long to finish. */
const CRASH_DRAIN_TIMEOUT_MS = 5000;

/** Tells the primary the app is loaded, and resolves on its 'listen'. */
function loadedThenListen(): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (!isPrimaryMessage(message) || message.gantry !== 'listen') return;
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
    void send({ gantry: 'loaded' });
  });
}

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

async function reportBootError(error: unknown, logger: Logger): Promise<never> {
  const gantryError = error instanceof GantryError ? error : undefined;
  const code = gantryError?.code ?? ErrorCode.APP_BOOT;
  const cause = gantryError?.cause;
  const detail =
    gantryError === undefined
      ? (error as Error)?.stack
      : gantryError.showCause && cause instanceof Error
        ? cause.stack
        : undefined;
  logger.debug({ err: error }, 'boot failed');
  await send({ gantry: 'boot-error', code, message: describeError(error), ...(detail ? { detail } : {}) });
  process.exit(exitCodeOf(code));
}

/**
 * node:cluster's round-robin primary may have handed this worker a connection just before it saw the
 * worker close its listener. Alive, the worker sends such a connection back; gone, the connection is
 * lost (the primary waits for an answer forever, and the client hangs). IPC is ordered, so once the
 * primary answers this, every connection handed over before has arrived and been sent back.
 */
function whenNoMoreConnections(): Promise<unknown> {
  let resolveAck: () => void = () => {};
  const acked = new Promise<void>((resolve) => (resolveAck = resolve));
  const onMessage = (message: unknown) => {
    if (isPrimaryMessage(message) && message.gantry === 'no-more-connections') resolveAck();
  };
  process.on('message', onMessage);
  void send({ gantry: 'stopped-accepting' });
  return finishedWithin(acked, HANDOFF_WAIT_MS).finally(() => process.off('message', onMessage));
}

/** Whether `task` finished within `ms`. */
function finishedWithin(task: Promise<unknown>, ms: number): Promise<boolean> {
  return withTimeLimit(
    task.then(() => true),
    ms,
    () => false,
  );
}

/**
 * After the drain: the workerExit hook, the app's close() and the thread pool, within AFTER_DRAIN_MS in
 * all (the primary's stop budget counts on it).
 */
async function cleanUp(app: LoadedApp, hooks: Hooks, context: WorkerContext, logger: Logger): Promise<void> {
  const steps = async () => {
    await runHook(hooks, 'workerExit', context);
    try {
      await app.close?.();
    } catch (error) {
      logger.error({ err: error }, "the app's close() failed");
    }
    await closeThreads();
  };
  if (!(await finishedWithin(steps(), AFTER_DRAIN_MS))) {
    logger.warn(`workerExit, the app's close() and the thread pool did not finish within ${AFTER_DRAIN_MS / 1000} s`);
  }
}

/**
 * Beats the in-flight board's clock (for the watchdog thread) and the primary's heartbeat while the
 * event loop turns. Only with a timeout: nothing reads either without one.
 */
function startHeartbeat(board: InFlightBoard): void {
  board.beat();
  let sinceHeartbeat = 0;
  const timer = setInterval(() => {
    board.beat();
    sinceHeartbeat += BEAT_MS;
    if (sinceHeartbeat >= HEARTBEAT_MS) {
      sinceHeartbeat = 0;
      void send({ gantry: 'heartbeat' });
    }
  }, BEAT_MS);
  timer.unref();
}

function startWatchdog(board: InFlightBoard, settings: ServerSettings, workerId: number, logger: Logger): void {
  const data: WatchdogData = {
    buffer: board.buffer,
    timeoutMs: settings.timeout * 1000,
    workerId,
    logLevel: settings.logLevel,
    logFormat: settings.logFormat,
  };
  const watchdog = new Worker(new URL('./watchdog.js', import.meta.url), { workerData: data });
  watchdog.on('error', (error) => logger.error({ err: error }, 'the watchdog thread failed'));
  watchdog.unref();
}

/** How often a worker with a memory limit reads its resident set size (a cheap read of /proc/self/statm). */
const MEMORY_CHECK_MS = 1000;

/**
 * max-worker-memory: once this worker's RSS passes its limit (drawn by the primary below the setting,
 * so that workers growing alike are not all replaced at once), it asks to be replaced, through the same
 * lossless succession as max-requests; it asks again while it stays over (the primary retries a
 * replacement that failed).
 */
function watchMemory(limitMiB: number, logger: Logger): void {
  let asked = false;
  const timer = setInterval(() => {
    const rssMiB = process.memoryUsage.rss() / 1024 / 1024;
    if (rssMiB <= limitMiB) return;
    if (!asked)
      logger.warn(
        `RSS ${rssMiB.toFixed(0)} MiB is over this worker's limit of ${limitMiB} MiB (max-worker-memory): asking to be replaced`,
      );
    asked = true;
    void send({ gantry: 'recycle', reason: 'memory' });
  }, MEMORY_CHECK_MS);
  timer.unref();
}

type Stop = { readonly kind: 'drain'; readonly timeoutMs: number } | { readonly kind: 'quit' };

export async function runWorker(spec: WorkerSpec): Promise<void> {
  const { settings, workerId } = spec;
  const logger = createLogger({ level: settings.logLevel, format: settings.logFormat, role: 'worker', workerId });
  process.title = `gantry: worker ${workerId} [${spec.app}]`;
  // The app's gantry/threads sizes its pool from this (its copy of gantry may not be ours).
  process.env[THREADS_ENV] = String(settings.threads);

  const context: WorkerContext = { id: workerId, pid: process.pid, settings, log: logger };
  const board = settings.timeout > 0 ? new InFlightBoard() : undefined;
  let metrics: WorkerMetrics | undefined;
  let hooks: Hooks = {};
  let accessLog: AccessLog | undefined;
  let app: LoadedApp | undefined;
  let http: HttpService | undefined;

  // Loading: nothing is bound, a stop just exits. Listening: listen() is under way (node:cluster may
  // already hand us connections), a stop waits for it. Serving: a stop drains. Stopping: done already.
  let phase: 'loading' | 'listening' | 'serving' | 'stopping' = 'loading';
  let pending: Stop | undefined;

  const drainAndExit = async (service: HttpService, timeoutMs: number, exitCode: ExitCodeValue) => {
    const drained = service.drain(timeoutMs);
    const handedOff = whenNoMoreConnections();
    const { destroyed, interrupted } = await drained;
    await handedOff;
    if (metrics) await send({ gantry: 'final-metrics', metrics: await metrics.snapshot() });
    if (destroyed > 0) {
      logger.warn(
        { interrupted: interrupted.map(({ req }) => `${req.method} ${req.url}`) },
        `graceful timeout: closed ${destroyed} connection(s) with ${interrupted.length} request(s) still running`,
      );
    }
    if (app) await cleanUp(app, hooks, context, logger);
    accessLog?.flush();
    process.exit(exitCode);
  };
  const stop = (request: Stop, exitCode: ExitCodeValue = ExitCode.OK) => {
    if (phase === 'loading') process.exit(exitCode);
    if (phase === 'listening') {
      if (pending?.kind !== 'quit') pending = request;
      return;
    }
    if (request.kind === 'quit' || !http) {
      http?.destroy();
      accessLog?.flush();
      process.exit(exitCode);
    }
    if (phase === 'stopping') return;
    phase = 'stopping';
    void drainAndExit(http, request.timeoutMs, exitCode);
  };

  process.on('message', (message: unknown) => {
    if (!isPrimaryMessage(message)) return;
    if (message.gantry === 'drain') stop({ kind: 'drain', timeoutMs: message.timeoutMs });
    else if (message.gantry === 'quit') stop({ kind: 'quit' });
    else if (message.gantry === 'reopen-logs') accessLog?.reopen();
    else if (message.gantry === 'collect-metrics' && metrics) {
      const { id } = message;
      void metrics.snapshot().then((json) => send({ gantry: 'metrics', id, metrics: json }));
    }
  });
  // Signals sent to the worker itself, as gunicorn's workers take them: TERM graceful, INT/QUIT now.
  process.on('SIGTERM', () => stop({ kind: 'drain', timeoutMs: settings.gracefulTimeout * 1000 }));
  process.on('SIGINT', () => stop({ kind: 'quit' }));
  process.on('SIGQUIT', () => stop({ kind: 'quit' }));
  process.on('SIGUSR1', () => accessLog?.reopen());
  // The primary is gone (killed): nobody supervises this worker any more.
  process.on('disconnect', () => stop({ kind: 'quit' }));
  process.on('uncaughtException', (error) => {
    if (phase === 'loading' || phase === 'listening') return void reportBootError(error, logger);
    logger.fatal({ err: error }, 'uncaught exception in the app: this worker stops and will be replaced');
    if (phase === 'serving') void send({ gantry: 'crashed' });
    stop({ kind: 'drain', timeoutMs: Math.min(CRASH_DRAIN_TIMEOUT_MS, settings.gracefulTimeout * 1000) }, ExitCode.FAILURE);
  });

  // Loading is bounded by boot-timeout here too: this timer also keeps the event loop alive, so an app
  // that awaits a promise nothing resolves is reported as such instead of node's silent exit 13.
  const loadingLimit = setTimeout(
    () =>
      void reportBootError(
        new GantryError(
          ErrorCode.BOOT_TIMEOUT,
          `worker ${workerId} did not finish loading the app within boot-timeout (${settings.bootTimeout} s): ` +
            'a module, factory or postFork hook that waits on something that never comes?',
        ),
        logger,
      ),
    settings.bootTimeout * 1000,
  );
  try {
    // prom-client is loaded only where metrics are on.
    if (settings.metricsBind !== null) metrics = new (await import('../http/metrics.js')).WorkerMetrics(workerId);
    if (spec.configFile) hooks = (await loadConfigFile(spec.configFile, spec.cwd)).hooks;
    await runHook(hooks, 'postFork', context).catch((error: unknown) => {
      throw new GantryError(ErrorCode.APP_BOOT, `worker ${workerId} could not be set up: ${describeError(error)}`, {
        cause: (error as Error).cause ?? error,
        showCause: true,
      });
    });
    accessLog = settings.accessLog === null ? undefined : createAccessLog(settings.accessLog, settings.accessLogFormat);
    app = await loadApp(spec.app, {
      cwd: spec.cwd,
      context: { workerId },
      trackRoutes: metrics !== undefined,
      fastResponse: settings.fastResponse,
      appKind: settings.appKind,
      // Within the loading limit above, so that an app that never starts a server is told just that.
      adoptWithinMs: Math.max(1000, settings.bootTimeout * 1000 - 1000),
      argv: spec.appArgs,
      ...(settings.bind[0] ? { reportedAddress: settings.bind[0] } : {}),
    });
    http = new HttpService({
      settings: { ...settings, maxRequests: spec.maxRequests },
      handler: app.handle,
      upgrade: app.upgrade,
      logger,
      accessLog,
      board,
      metrics,
      onMaxRequests: () => {
        logger.info(`served ${spec.maxRequests} requests (max-requests): asking to be replaced`);
        void send({ gantry: 'recycle', reason: 'max_requests' });
      },
    });
    clearTimeout(loadingLimit);
    if (spec.deferListen) await loadedThenListen();
    phase = 'listening';
    await http.listen(settings.bind);
  } catch (error) {
    return reportBootError(error, logger);
  }

  phase = 'serving';
  if (pending) return stop(pending);
  if (spec.maxMemoryMiB > 0) watchMemory(spec.maxMemoryMiB, logger);
  if (board) {
    startHeartbeat(board);
    startWatchdog(board, settings, workerId, logger);
  }
  await send({ gantry: 'ready' });
}
