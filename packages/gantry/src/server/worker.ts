/**
 * One worker process: loads the app, serves it on the shared listeners, drains on request and exits.
 * The life of a worker follows gunicorn's (workers/base.py): set up, load the app, serve, and exit on
 * the primary's word; a worker whose app fails to load reports why and exits with a code that stops
 * the whole server instead of a crash loop.
 */
import { type ExitCodeValue, ErrorCode, ExitCode, GantryError, describeError } from '../errors.js';
import { type Logger, createLogger } from '../logger.js';
import { type AccessLog, createAccessLog } from './access-log.js';
import { type LoadedApp, loadApp } from './app.js';
import { HttpService } from './http.js';
import { type WorkerMessage, isPrimaryMessage } from './messages.js';
import type { ServerSettings } from './settings.js';

/** What the primary hands a worker (as JSON in WORKER_SETTINGS_ENV). */
export interface WorkerSpec {
  readonly settings: ServerSettings;
  readonly app: string;
  readonly cwd: string;
  readonly workerId: number;
}

/** How long an app's own close() may take after the drain, before the worker exits anyway. */
const APP_CLOSE_TIMEOUT_MS = 5000;
/** After an uncaught exception, in-flight requests get this long to finish. */
const CRASH_DRAIN_TIMEOUT_MS = 5000;

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

async function reportBootError(error: unknown, logger: Logger): Promise<never> {
  const gantryError = error instanceof GantryError ? error : undefined;
  const exitCode: ExitCodeValue = gantryError?.exitCode ?? ExitCode.WORKER_BOOT_ERROR;
  const cause = gantryError?.cause;
  const detail =
    gantryError === undefined
      ? (error as Error)?.stack
      : gantryError.showCause && cause instanceof Error
        ? cause.stack
        : undefined;
  logger.debug({ err: error }, 'boot failed');
  const code = gantryError?.code ?? ErrorCode.APP_BOOT;
  await send({ gantry: 'boot-error', code, message: describeError(error), exitCode, ...(detail ? { detail } : {}) });
  process.exit(exitCode);
}

async function closeApp(app: LoadedApp, logger: Logger): Promise<void> {
  if (!app.close) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), APP_CLOSE_TIMEOUT_MS);
  });
  try {
    const outcome = await Promise.race([app.close().then(() => 'closed' as const), timeout]);
    if (outcome === 'timeout') logger.warn(`the app's close() did not finish within ${APP_CLOSE_TIMEOUT_MS / 1000} s`);
  } catch (error) {
    logger.error({ err: error }, "the app's close() failed");
  } finally {
    clearTimeout(timer);
  }
}

export async function runWorker(spec: WorkerSpec): Promise<void> {
  const { settings, workerId } = spec;
  const logger = createLogger({ level: settings.logLevel, format: settings.logFormat, role: 'worker', workerId });
  process.title = `gantry: worker ${workerId} [${spec.app}]`;

  let accessLog: AccessLog | undefined;
  let app: LoadedApp;
  let http: HttpService;
  try {
    accessLog = settings.accessLog === null ? undefined : createAccessLog(settings.accessLog);
    app = await loadApp(spec.app, {
      cwd: spec.cwd,
      context: { workerId },
      reportError: (error, req) =>
        logger.error({ err: error, method: req.method, url: req.url }, 'the app failed while handling a request'),
    });
    http = new HttpService({ settings, handler: app.handle, logger, accessLog });
    await http.listen(settings.bind);
  } catch (error) {
    return reportBootError(error, logger);
  }

  let stopping = false;
  const drainAndExit = async (timeoutMs: number, exitCode: ExitCodeValue) => {
    if (stopping) return;
    stopping = true;
    const { destroyed, interrupted } = await http.drain(timeoutMs);
    if (destroyed > 0) {
      logger.warn(
        { interrupted: interrupted.map(({ req }) => `${req.method} ${req.url}`) },
        `graceful timeout: closed ${destroyed} connection(s) with ${interrupted.length} request(s) still running`,
      );
    }
    await closeApp(app, logger);
    accessLog?.flush();
    process.exit(exitCode);
  };
  const quit = () => {
    http.destroy();
    accessLog?.flush();
    process.exit(ExitCode.OK);
  };

  process.on('message', (message: unknown) => {
    if (!isPrimaryMessage(message)) return;
    if (message.gantry === 'drain') void drainAndExit(message.timeoutMs, ExitCode.OK);
    else if (message.gantry === 'quit') quit();
  });
  // Signals sent to the worker itself, as gunicorn's workers take them: TERM graceful, INT/QUIT now.
  process.on('SIGTERM', () => void drainAndExit(settings.gracefulTimeout * 1000, ExitCode.OK));
  process.on('SIGINT', quit);
  process.on('SIGQUIT', quit);
  // The primary is gone (killed): nobody supervises this worker any more.
  process.on('disconnect', quit);
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception in the app: this worker stops and will be replaced');
    void drainAndExit(Math.min(CRASH_DRAIN_TIMEOUT_MS, settings.gracefulTimeout * 1000), ExitCode.FAILURE);
  });

  await send({ gantry: 'ready' });
}
