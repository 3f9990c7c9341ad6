/**
 * One worker process, running a web service (gantry serve) or a job service (gantry run). Its life
 * follows gunicorn's (workers/base.py), in explicit phases:
 *   loading    setting up (postFork), loading the app: nothing is bound, a stop just exits;
 *   listening  a successor waiting for the primary's 'listen', then listen() (a job worker's start())
 *              under way (node:cluster may already hand it connections): a stop waits for it;
 *   serving    a stop drains (a job worker: stops taking work, finishes what runs);
 *   stopping   draining or exiting already.
 * A worker whose app fails to load reports why and exits with a code that stops the whole server instead
 * of a crash loop. Once it serves, its event loop beats a heartbeat to the primary, a watchdog thread
 * reports what it was serving if that beat stops, and it watches its memory (vitals.ts). Everything the
 * primary says arrives in one switch (#onMessage).
 */
import { type ExitCodeValue, ErrorCode, ExitCode, GantryError, describeError, exitCodeOf } from '../../errors.js';
import { type Logger, createLogger } from '../../logger.js';
import { THREADS_ENV, closeThreads } from '../../threads.js';
import { withTimeLimit } from '../../time-limit.js';
import { loadConfigFile } from '../config-file.js';
import { type Hooks, type WorkerContext, runHook } from '../hooks.js';
import { InFlightBoard } from '../http/in-flight-board.js';
import { AFTER_DRAIN_MS, HANDOFF_WAIT_MS, type PrimaryMessage, type WorkerSpec } from '../messages.js';
import { send } from './channel.js';
import type { WorkerRegistry } from './metrics.js';
import { JobService } from './jobs.js';
import { startHeartbeat, startWatchdog, watchMemory } from './vitals.js';
import { WebService } from './web.js';

/** What a worker process runs: the web service (gantry serve) or the job service (gantry run). */
type Service = WebService | JobService;

/** After an uncaught exception, in-flight requests get this long to finish. */
const CRASH_DRAIN_TIMEOUT_MS = 5000;

type Phase = 'loading' | 'listening' | 'serving' | 'stopping';
type Stop = { readonly kind: 'drain'; readonly timeoutMs: number } | { readonly kind: 'quit' };

/** Whether `task` finished within `ms`. */
function finishedWithin(task: Promise<unknown>, ms: number): Promise<boolean> {
  return withTimeLimit(
    task.then(() => true),
    ms,
    () => false,
  );
}

export class WorkerProcess {
  readonly #spec: WorkerSpec;
  readonly #logger: Logger;
  readonly #context: WorkerContext;
  readonly #board: InFlightBoard | undefined;
  #phase: Phase = 'loading';
  /** A stop asked for while listening: carried out once the listeners are open. */
  #pending: Stop | undefined;
  #hooks: Hooks = {};
  #registry: WorkerRegistry | undefined;
  #service: Service | undefined;
  /** The primary's 'listen' (for a successor) and 'no-more-connections' (for a drain), when they come. */
  readonly #listen = Promise.withResolvers<void>();
  readonly #noMoreConnections = Promise.withResolvers<void>();

  constructor(spec: WorkerSpec) {
    const { settings, workerId } = spec;
    this.#spec = spec;
    this.#logger = createLogger({ level: settings.logLevel, format: settings.logFormat, role: 'worker', workerId });
    this.#context = { kind: spec.kind, id: workerId, pid: process.pid, settings, log: this.#logger };
    this.#board = settings.timeout > 0 ? new InFlightBoard() : undefined;
  }

  async run(): Promise<void> {
    const { settings, workerId } = this.#spec;
    process.title = `gantry: worker ${workerId} [${this.#spec.app}]`;
    // The app's gantry/threads sizes its pool from this (its copy of gantry may not be ours).
    process.env[THREADS_ENV] = String(settings.threads);
    this.#listenToProcess();
    try {
      await this.#load();
      if (this.#spec.deferListen) {
        void send({ gantry: 'loaded' });
        await this.#listen.promise;
      }
      this.#phase = 'listening';
      await (this.#service as Service).listen();
    } catch (error) {
      return this.#reportBootError(error);
    }
    this.#phase = 'serving';
    if (this.#pending) return this.#stop(this.#pending);
    if (this.#spec.maxMemoryMiB > 0) watchMemory(this.#spec.maxMemoryMiB, this.#logger);
    if (this.#board) {
      startHeartbeat(this.#board);
      startWatchdog(this.#board, settings, workerId, this.#logger);
    }
    await send({ gantry: 'ready' });
  }

  /**
   * Set up and load, bounded by boot-timeout here too: this timer also keeps the event loop alive, so
   * an app that awaits a promise nothing resolves is reported as such instead of node's silent exit 13.
   */
  async #load(): Promise<void> {
    const { settings, workerId } = this.#spec;
    const limit = setTimeout(() => {
      const message =
        `worker ${workerId} did not finish loading the app within boot-timeout (${settings.bootTimeout} s): ` +
        'a module, factory or postFork hook that waits on something that never comes?';
      void this.#reportBootError(new GantryError(ErrorCode.BOOT_TIMEOUT, message));
    }, settings.bootTimeout * 1000);
    try {
      // prom-client is loaded only where metrics are on.
      if (settings.metricsBind !== null)
        this.#registry = new (await import('./metrics.js')).WorkerRegistry(workerId, this.#logger);
      if (this.#spec.configFile) this.#hooks = (await loadConfigFile(this.#spec.configFile, this.#spec.cwd)).hooks;
      await runHook(this.#hooks, 'postFork', this.#context).catch((error: unknown) => {
        throw new GantryError(ErrorCode.APP_BOOT, `worker ${workerId} could not be set up: ${describeError(error)}`, {
          cause: (error as Error).cause ?? error,
          showCause: true,
        });
      });
      this.#service =
        this.#spec.kind === 'jobs'
          ? await JobService.load(this.#spec, this.#logger, this.#board, this.#registry)
          : await WebService.load(this.#spec, this.#logger, this.#board, this.#registry);
    } finally {
      clearTimeout(limit);
    }
  }

  #listenToProcess(): void {
    const { gracefulTimeout } = this.#spec.settings;
    process.on('message', this.#onMessage);
    // Signals sent to the worker itself, as gunicorn's workers take them: TERM graceful, INT/QUIT now.
    process.on('SIGTERM', () => this.#stop({ kind: 'drain', timeoutMs: gracefulTimeout * 1000 }));
    process.on('SIGINT', () => this.#stop({ kind: 'quit' }));
    process.on('SIGQUIT', () => this.#stop({ kind: 'quit' }));
    process.on('SIGUSR1', () => this.#reopenLogs());
    // The primary is gone (killed): nobody supervises this worker any more.
    process.on('disconnect', () => this.#stop({ kind: 'quit' }));
    process.on('uncaughtException', (error) => {
      if (this.#phase === 'loading' || this.#phase === 'listening') return void this.#reportBootError(error);
      this.#logger.fatal({ err: error }, 'uncaught exception in the app: this worker stops and will be replaced');
      if (this.#phase === 'serving') void send({ gantry: 'crashed' });
      this.#stop({ kind: 'drain', timeoutMs: Math.min(CRASH_DRAIN_TIMEOUT_MS, gracefulTimeout * 1000) }, ExitCode.FAILURE);
    });
  }

  #onMessage = (message: PrimaryMessage): void => {
    switch (message?.gantry) {
      case 'listen':
        return this.#listen.resolve();
      case 'drain':
        return this.#stop({ kind: 'drain', timeoutMs: message.timeoutMs });
      case 'quit':
        return this.#stop({ kind: 'quit' });
      case 'reopen-logs':
        return this.#reopenLogs();
      case 'collect-metrics':
        return void this.#registry?.snapshot().then((metrics) => send({ gantry: 'metrics', id: message.id, metrics }));
      case 'no-more-connections':
        return this.#noMoreConnections.resolve();
    }
  };

  #stop(request: Stop, exitCode: ExitCodeValue = ExitCode.OK): void {
    switch (this.#phase) {
      case 'loading':
        return process.exit(exitCode);
      case 'listening':
        if (this.#pending?.kind !== 'quit') this.#pending = request;
        return;
      case 'stopping':
        if (request.kind === 'drain') return;
        break;
      case 'serving':
        if (request.kind === 'drain') {
          this.#phase = 'stopping';
          return void this.#drainAndExit(request.timeoutMs, exitCode);
        }
    }
    this.#service?.destroy();
    if (this.#service instanceof WebService) this.#service.flushLogs();
    process.exit(exitCode);
  }

  /** The access log's file (USR1): a web worker's only. */
  #reopenLogs(): void {
    if (this.#service instanceof WebService) this.#service.reopenLogs();
  }

  async #drainAndExit(timeoutMs: number, exitCode: ExitCodeValue): Promise<void> {
    const service = this.#service as Service;
    await service.drain(timeoutMs, () => this.#whenNoMoreConnections());
    if (this.#registry) await send({ gantry: 'final-metrics', metrics: await this.#registry.snapshot() });
    await this.#cleanUp(service);
    if (service instanceof WebService) service.flushLogs();
    process.exit(exitCode);
  }

  /** Tells the primary the listeners are closed; resolves on its answer (or after HANDOFF_WAIT_MS: it may be gone). */
  #whenNoMoreConnections(): Promise<boolean> {
    void send({ gantry: 'stopped-accepting' });
    return finishedWithin(this.#noMoreConnections.promise, HANDOFF_WAIT_MS);
  }

  /**
   * After the drain: the workerExit hook, the app's close() and the thread pool, within AFTER_DRAIN_MS in
   * all (the primary's stop budget counts on it).
   */
  async #cleanUp(service: Service): Promise<void> {
    const steps = async () => {
      await runHook(this.#hooks, 'workerExit', this.#context);
      if (service instanceof WebService) {
        try {
          await service.close();
        } catch (error) {
          this.#logger.error({ err: error }, "the app's close() failed");
        }
      }
      await closeThreads();
    };
    if (!(await finishedWithin(steps(), AFTER_DRAIN_MS))) {
      this.#logger.warn(`workerExit, the app's close() and the thread pool did not finish within ${AFTER_DRAIN_MS / 1000} s`);
    }
  }

  async #reportBootError(error: unknown): Promise<never> {
    const gantryError = error instanceof GantryError ? error : undefined;
    const code = gantryError?.code ?? ErrorCode.APP_BOOT;
    const cause = gantryError?.cause;
    // A stack when the failure is inside the app, none for a user mistake.
    const detail =
      gantryError === undefined
        ? (error as Error)?.stack
        : gantryError.showCause && cause instanceof Error
          ? cause.stack
          : undefined;
    this.#logger.debug({ err: error }, 'boot failed');
    await send({ gantry: 'boot-error', code, message: describeError(error), ...(detail ? { detail } : {}) });
    process.exit(exitCodeOf(code));
  }
}
