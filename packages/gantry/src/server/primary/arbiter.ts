/**
 * The primary process (gunicorn's arbiter): forks the workers, supervises them, reloads and stops them.
 * It never serves requests.
 *
 * One loop. Everything that changes the arbiter's state arrives as an event on one queue: signals (their
 * handlers only enqueue, as in gunicorn), the workers' messages and exits (node:cluster's listeners only
 * enqueue), and a reload's settings once they have been read in the background. The loop handles the
 * events in order, then does the housekeeping (respawns, hung and late workers, the stop deadline) at
 * least once a second. Handled where it arrives, outside the loop: a worker's answer to a metrics scrape,
 * which is data for that scrape and changes nothing here. Replacing workers is a succession
 * (succession.ts); what the primary knows of each worker is its record and phase (worker-record.ts).
 */
import cluster, { type Worker } from 'node:cluster';
import { randomInt } from 'node:crypto';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ExitCodeValue, ErrorCode, ExitCode, GantryError, describeError } from '../../errors.js';
import { WORKER_SETTINGS_ENV } from '../../internal-env.js';
import type { Logger } from '../../logger.js';
import { resolveModule } from '../../module-loader.js';
import { withTimeLimit } from '../../time-limit.js';
import { parseAppSpec } from '../app/load.js';
import { bindUrl, formatBind, removeStaleUnixSocket } from '../bind.js';
import { type Hooks, type ServerContext, runHook } from '../hooks.js';
import {
  type PrimaryMessage,
  type RecycleReason,
  type WorkerKind,
  type WorkerMessage,
  type WorkerSpec,
  stopBudgetMs,
} from '../messages.js';
import type { ServerSettings } from '../settings.js';
import { watchForChanges } from './file-watch.js';
import type { PrimaryMetrics, RestartReason, StatusSource } from './metrics.js';
import { movePidFile, removePidFile, writePidFile } from './pid-file.js';
import type { StatusServer } from './status-server.js';
import { preloadApp, runStartUpSteps } from './start-up.js';
import { Succession } from './succession.js';
import { type BootFailure, WorkerRecord } from './worker-record.js';
import { autoWorkers } from '../workers-setting.js';

const WORKER_MAIN = fileURLToPath(new URL('../worker/main.js', import.meta.url));
const TICK_MS = 1000;
/** A fast stop (INT/QUIT) waits this long for workers before SIGKILL. */
const FAST_STOP_MS = 2000;
/** Respawn backoff for a slot whose workers die before they serve: doubles up to the cap, reset by one that serves. */
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 10_000;
/** A failed max-requests (or memory) replacement is tried again after this long. */
const RECYCLE_RETRY_MS = 10_000;

const HANDLED_SIGNALS = ['SIGHUP', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGTTIN', 'SIGTTOU', 'SIGUSR1'] as const;
type HandledSignal = (typeof HANDLED_SIGNALS)[number];

export interface LoadedServerConfig {
  readonly settings: ServerSettings;
  readonly hooks: Hooks;
}

type LoopEvent =
  | { readonly kind: 'signal'; readonly signal: HandledSignal }
  | { readonly kind: 'message'; readonly record: WorkerRecord; readonly message: WorkerMessage }
  | { readonly kind: 'exit'; readonly record: WorkerRecord; readonly code: number | null; readonly signal: NodeJS.Signals | null }
  | { readonly kind: 'reload'; readonly next: LoadedServerConfig };

export interface ArbiterOptions {
  /** What the workers run: the app on the bind addresses (gantry serve), or a job worker (gantry run). */
  readonly kind: WorkerKind;
  readonly app: string;
  /** The app's own arguments (`gantry serve app -- args`): its process.argv in each worker. */
  readonly appArgs: readonly string[];
  readonly cwd: string;
  readonly initial: LoadedServerConfig;
  /** Reads the settings and hooks again (config file, environment, flags), for SIGHUP. */
  readonly reload: () => Promise<LoadedServerConfig>;
  /** The config file, absolute, for the workers' hooks (postFork, workerExit). */
  readonly configFile?: string | undefined;
  /** Stop gracefully once this process (the one that started gantry) is gone, e.g. a killed `gantry stack`. */
  readonly exitWithParent?: number | undefined;
  readonly logger: Logger;
}

export class Arbiter {
  readonly #options: ArbiterOptions;
  readonly #log: Logger;
  readonly #workers = new Map<number, WorkerRecord>();
  readonly #successions = new Set<Succession>();
  /** Slots waiting for a respawn, with the earliest time it may happen. */
  readonly #respawns = new Map<number, number>();
  readonly #backoff = new Map<number, number>();
  readonly #events: LoopEvent[] = [];
  #wake: (() => void) | undefined;
  #settings: ServerSettings;
  #hooks: Hooks;
  #target: number;
  /** A reload reading its settings, in the background (the loop keeps supervising meanwhile). */
  #preparing = false;
  #state: 'booting' | 'running' | 'stopping' = 'booting';
  /** Past the start-up steps (see #startUp): from here on, the loop handles every signal. */
  #started = false;
  /** Resolved by a stop signal that arrives during the start-up steps. */
  readonly #stopRequested = Promise.withResolvers<HandledSignal>();
  #stopDeadline = Infinity;
  #halt: GantryError | undefined;
  #metrics: PrimaryMetrics | undefined;
  #statusServer: StatusServer | undefined;

  constructor(options: ArbiterOptions) {
    this.#options = options;
    this.#log = options.logger;
    this.#settings = options.initial.settings;
    this.#hooks = options.initial.hooks;
    this.#target = this.#settings.workers;
  }

  /** Runs until stopped; resolves with the exit code, or rejects with the error that halted the server. */
  async run(): Promise<ExitCodeValue> {
    process.title = `gantry: primary [${this.#options.app}]`;
    // Signal handlers come first: a stop while starting up (a preload that hangs, as PID 1) is heard.
    const handlers = HANDLED_SIGNALS.map((signal) => [signal, () => this.#onSignal(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    let stopWatching: (() => void) | undefined;
    try {
      const stoppedBy = await this.#startUp();
      if (stoppedBy) {
        this.#log.info(`${stoppedBy} while starting up: stopped before any worker started`);
        return ExitCode.OK;
      }
      cluster.setupPrimary({ exec: WORKER_MAIN, args: [] });
      cluster.on('message', this.#onClusterMessage);
      cluster.on('exit', this.#onClusterExit);
      const auto = autoWorkers();
      const why = auto ? `, workers auto: ${auto.source}` : '';
      this.#log.info(`starting gantry for ${this.#options.app} with ${this.#target} workers (primary pid ${process.pid}${why})`);
      for (let slot = 1; slot <= this.#target; slot++) this.#spawn(slot);
      stopWatching = this.#settings.reload ? this.#watchForReload() : undefined;
      while (!(this.#state === 'stopping' && this.#workers.size === 0)) {
        await this.#sleep(this.#nextWake());
        for (let event = this.#events.shift(); event; event = this.#events.shift()) this.#handle(event);
        this.#housekeeping();
      }
    } finally {
      stopWatching?.();
      for (const [signal, handler] of handlers) process.off(signal, handler);
      cluster.off('message', this.#onClusterMessage);
      cluster.off('exit', this.#onClusterExit);
      await runHook(this.#hooks, 'onExit', this.#context());
      this.#statusServer?.close();
      await removePidFile(this.#settings.pid);
    }
    if (this.#halt) throw this.#halt;
    this.#log.info('stopped');
    return ExitCode.OK;
  }

  // --- start-up, before the loop

  /**
   * What comes before the first worker: the onStarting hook, the status server, preload, stale unix
   * sockets, the pid file. Resolves with the stop signal that ended the start-up, if one did.
   */
  async #startUp(): Promise<HandledSignal | undefined> {
    const settings = this.#settings;
    const stoppedBy = await runStartUpSteps(
      [
        [
          'the onStarting hook',
          () =>
            runHook(this.#hooks, 'onStarting', this.#context()).catch((error: unknown) => {
              throw new GantryError(ErrorCode.START_HOOK, describeError(error), { cause: error });
            }),
        ],
        ['the metrics and status server', () => this.#startStatusServer()],
        ['preload (loading the app in the primary)', async () => (settings.preload ? this.#preload(settings) : undefined)],
        [
          'preparing the listen addresses and the pid file',
          async () => {
            if (this.#options.kind === 'web') for (const bind of settings.bind) await removeStaleUnixSocket(bind);
            if (settings.pid) await writePidFile(settings.pid);
          },
        ],
      ],
      settings.bootTimeout,
      this.#stopRequested.promise,
    );
    this.#started = stoppedBy === undefined;
    return stoppedBy;
  }

  /** --reload: a change to the app's files or the config file is a SIGHUP. */
  #watchForReload(): () => void {
    const { app, cwd, configFile } = this.#options;
    const appDir = dirname(resolveModule(parseAppSpec(app).module, cwd, 'app'));
    const targets = [{ dir: appDir }, ...(configFile ? [{ file: configFile }] : [])];
    this.#log.info(
      `reload: watching ${relative(cwd, appDir) || '.'}${configFile ? ` and ${relative(cwd, configFile)}` : ''} for changes`,
    );
    return watchForChanges(targets, cwd, (files) => {
      const shown = files.length > 3 ? `${files.slice(0, 3).join(', ')} and ${files.length - 3} more` : files.join(', ');
      this.#log.info(`reload: ${shown} changed`);
      this.#onSignal('SIGHUP');
    });
  }

  /** The metrics and status server, with --metrics-bind. prom-client is loaded only then (~12 MiB). */
  async #startStatusServer(): Promise<void> {
    const metricsBind = this.#settings.metricsBind;
    if (!metricsBind) return;
    const [{ PrimaryMetrics }, { StatusServer }] = await Promise.all([import('./metrics.js'), import('./status-server.js')]);
    const source: StatusSource = {
      app: this.#options.app,
      kind: this.#options.kind,
      ready: () => this.#state !== 'stopping' && this.#serving().some((r) => r.phase.kind === 'ready'),
      workers: () =>
        [...this.#workers.values()].map((r) => ({ slot: r.slot, pid: r.pid, state: r.state, startedAt: r.startedAt })),
      askWorkers: (id) => {
        const asked = [...this.#workers.values()].filter((r) => r.phase.kind !== 'booting' && r.process.isConnected());
        for (const record of asked) record.command({ gantry: 'collect-metrics', id });
        return asked.length;
      },
    };
    this.#metrics = new PrimaryMetrics(source);
    this.#statusServer = new StatusServer(metricsBind, source, this.#metrics, this.#log);
    // Up before the workers, so that /ready says "not ready" until one serves.
    await this.#statusServer.listen();
  }

  /** preload is a web server's: a job worker's module is loaded by its workers only. */
  async #preload(settings: ServerSettings): Promise<void> {
    const { app, cwd, kind } = this.#options;
    if (kind === 'web') await preloadApp({ app, cwd, settings, fresh: this.#started, log: this.#log });
  }

  // --- the loop

  #enqueue(event: LoopEvent): void {
    this.#events.push(event);
    this.#wake?.();
  }

  #onSignal(signal: HandledSignal): void {
    if (!this.#started && (signal === 'SIGTERM' || signal === 'SIGINT' || signal === 'SIGQUIT')) {
      this.#stopRequested.resolve(signal);
    }
    this.#enqueue({ kind: 'signal', signal });
  }

  #onClusterMessage = (worker: Worker, message: WorkerMessage): void => {
    const record = this.#workers.get(worker.id);
    if (!record || typeof message?.gantry !== 'string') return;
    if (message.gantry === 'metrics') return this.#metrics?.answer(message.id, worker.id, message.metrics);
    this.#enqueue({ kind: 'message', record, message });
  };

  #onClusterExit = (worker: Worker, code: number | null, signal: NodeJS.Signals | null): void => {
    const record = this.#workers.get(worker.id);
    if (record) this.#enqueue({ kind: 'exit', record, code, signal });
  };

  /** Sleeps until the next tick, an event, or a respawn that is due. */
  #sleep(ms: number): Promise<void> {
    if (this.#events.length > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  #nextWake(): number {
    const due = Math.min(...this.#respawns.values()) - Date.now();
    return Math.max(0, Math.min(TICK_MS, due));
  }

  #handle(event: LoopEvent): void {
    switch (event.kind) {
      case 'signal':
        return this.#dispatch(event.signal);
      case 'message':
        return this.#onMessage(event.record, event.message);
      case 'exit':
        return this.#onExit(event.record, event.code, event.signal);
      case 'reload':
        return this.#startReload(event.next);
    }
  }

  // --- signals

  #dispatch(signal: HandledSignal): void {
    if (this.#state === 'stopping' && signal !== 'SIGINT' && signal !== 'SIGQUIT') return;
    switch (signal) {
      case 'SIGHUP':
        return this.#handleHup();
      case 'SIGTERM':
        return this.#handleTerm();
      case 'SIGINT':
      case 'SIGQUIT':
        return this.#handleQuit(signal);
      case 'SIGTTIN':
        return this.#handleTtin();
      case 'SIGTTOU':
        return this.#handleTtou();
      case 'SIGUSR1':
        return this.#handleUsr1();
    }
  }

  /**
   * HUP: read the settings again and replace every worker, losing no request. Reading the settings (and
   * preload's check) runs in the background, bounded by boot-timeout; what it read comes back to the
   * loop as an event.
   */
  #handleHup(): void {
    if (this.#preparing || this.#reloading()) return void this.#log.warn('SIGHUP: a reload is already in progress; ignored');
    this.#log.info('SIGHUP: reloading (settings, then new workers; the old ones drain once the new ones serve)');
    this.#preparing = true;
    void this.#prepareReload().finally(() => (this.#preparing = false));
  }

  async #prepareReload(): Promise<void> {
    const limitMs = this.#settings.bootTimeout * 1000;
    const read = async () => {
      const loaded = await this.#options.reload();
      if (loaded.settings.preload) await this.#preload(loaded.settings);
      await runHook(loaded.hooks, 'onReload', { ...this.#context(), settings: loaded.settings });
      for (const bind of this.#options.kind === 'web' ? loaded.settings.bind : []) {
        if (!this.#settings.bind.some((b) => formatBind(b) === formatBind(bind))) await removeStaleUnixSocket(bind);
      }
      return loaded;
    };
    try {
      const next = await withTimeLimit(read(), limitMs, () => {
        throw new Error(`reading the settings took longer than boot-timeout (${limitMs / 1000} s)`);
      });
      this.#enqueue({ kind: 'reload', next });
    } catch (error) {
      this.#log.error(`reload aborted, the current workers keep serving: ${describeError(error)}`);
    }
  }

  #startReload(next: LoadedServerConfig): void {
    if (this.#state === 'stopping') return;
    // A max-requests replacement under way is superseded: every worker is replaced now.
    for (const succession of this.#successions) this.#abandon(succession, 'superseded by a reload', { quiet: true });
    const succession = new Succession('reload', next, this.#serving(), this.#target);
    this.#successions.add(succession);
    this.#target = next.settings.workers;
    this.#respawns.clear();
    for (let slot = 1; slot <= this.#target; slot++) succession.incoming.add(this.#spawn(slot, succession));
  }

  /** TERM: graceful stop. Repeated, it changes nothing (some supervisors send it twice); INT/QUIT hurry it. */
  #handleTerm(): void {
    const { gracefulTimeout } = this.#settings;
    this.#log.info(`SIGTERM: stopping gracefully (in-flight requests get up to ${gracefulTimeout} s)`);
    this.#stop({ gantry: 'drain', timeoutMs: gracefulTimeout * 1000 }, stopBudgetMs(gracefulTimeout));
  }

  /** INT/QUIT: fast stop. */
  #handleQuit(signal: HandledSignal): void {
    this.#log.info(`${signal}: stopping now`);
    this.#stop({ gantry: 'quit' }, FAST_STOP_MS);
  }

  #handleTtin(): void {
    this.#target++;
    this.#log.info(`SIGTTIN: one more worker (${this.#target})`);
  }

  #handleTtou(): void {
    if (this.#target <= 1) return void this.#log.info('SIGTTOU: already at one worker');
    this.#target--;
    this.#log.info(`SIGTTOU: one worker fewer (${this.#target})`);
  }

  #handleUsr1(): void {
    this.#log.info('SIGUSR1: reopening log files');
    for (const record of this.#workers.values()) record.command({ gantry: 'reopen-logs' });
  }

  // --- workers' messages and exits

  #onMessage(record: WorkerRecord, message: WorkerMessage): void {
    const phase = record.phase;
    switch (message.gantry) {
      case 'heartbeat':
        if (phase.kind === 'ready') phase.lastHeartbeat = Date.now();
        return;
      case 'loaded':
        return this.#onLoaded(record);
      case 'ready':
        return this.#onReady(record);
      case 'boot-error':
        if (phase.kind === 'booting') phase.failure = message;
        return;
      case 'recycle':
        return this.#recycle(record, message.reason);
      case 'crashed':
        return this.#onCrashed(record);
      case 'final-metrics':
        return this.#metrics?.retire(record.process.id, message.metrics);
      case 'stopped-accepting':
        // node:cluster has taken this worker off the listener by now (its own message came first), so
        // this answer is the last thing it can receive before a handed-off connection could be lost.
        return record.command({ gantry: 'no-more-connections' });
      case 'metrics':
        return; // answered where it arrives (#onClusterMessage)
    }
  }

  /** A successor loaded the app; once all of its succession's successors have, they all open their listeners. */
  #onLoaded(record: WorkerRecord): void {
    if (record.phase.kind !== 'booting') return;
    record.phase.loaded = true;
    const succession = this.#bringing(record);
    if (!succession?.loaded) return;
    for (const successor of succession.incoming) successor.command({ gantry: 'listen' });
  }

  #onReady(record: WorkerRecord): void {
    if (record.phase.kind !== 'booting') return;
    record.phase = { kind: 'ready', lastHeartbeat: Date.now() };
    this.#backoff.delete(record.slot);
    this.#log.info(`${record.name} ready`);
    const succession = this.#bringing(record);
    if (succession?.ready) this.#complete(succession);
    if (this.#state === 'booting' && this.#serving().filter((r) => r.phase.kind === 'ready').length >= this.#target) {
      this.#state = 'running';
      this.#log.info(
        this.#options.kind === 'web'
          ? `listening at ${this.#settings.bind.map(bindUrl).join(', ')} with ${this.#target} workers`
          : `running ${this.#target} job workers`,
      );
      void runHook(this.#hooks, 'whenReady', this.#context());
    }
  }

  /**
   * A worker caught an uncaught exception: it stops accepting and finishes its requests (up to a few
   * seconds) before it exits. Its slot gets a new worker now, not after that.
   */
  #onCrashed(record: WorkerRecord): void {
    if (record.phase.kind !== 'ready' || this.#state !== 'running') return;
    record.phase = { kind: 'draining', since: Date.now(), why: 'crashed' };
    if (this.#leavesSuccession(record)) return;
    this.#metrics?.restarts.inc({ reason: 'crashed' });
    this.#scheduleRespawn(record.slot, true);
  }

  #onExit(record: WorkerRecord, code: number | null, signal: NodeJS.Signals | null): void {
    this.#workers.delete(record.process.id);
    const killedByGantry = record.phase.kind === 'killing';
    // A SIGKILL gantry did not send is most often the kernel's out-of-memory killer.
    const oom = signal === 'SIGKILL' && !killedByGantry ? ' (perhaps out of memory?)' : '';
    const how = signal ? `was killed by ${signal}${oom}` : `exited with code ${code}`;
    const reason = record.exitReason();
    this.#log[reason === 'stopped' && code === 0 ? 'info' : 'warn'](`${record.name} ${how}: ${reason}`);
    if (this.#state === 'stopping' || record.leaving) return;

    const phase = record.phase;
    const booting = phase.kind === 'booting' || (phase.kind === 'killing' && phase.why === 'boot timeout');
    const failure = booting ? record.bootFailure(code, signal) : undefined;
    const succession = this.#bringing(record);
    if (succession) return this.#abandon(succession, failure?.message ?? `${record.name} ${how} before it was serving`);
    if (failure) return this.#haltWith(failure);
    // A predecessor that dies mid-succession is replaced by its successor; otherwise its slot is respawned.
    if (this.#leavesSuccession(record)) return;
    const restart: RestartReason = reason === 'hung' ? 'hung' : signal === 'SIGKILL' ? 'killed' : 'crashed';
    this.#metrics?.restarts.inc({ reason: restart });
    this.#scheduleRespawn(record.slot, phase.kind !== 'booting');
  }

  // --- housekeeping

  #housekeeping(): void {
    const now = Date.now();
    const parent = this.#options.exitWithParent;
    if (parent !== undefined && process.ppid !== parent && this.#state !== 'stopping') {
      this.#log.warn(`the process that started gantry (pid ${parent}) is gone: stopping`);
      this.#handleTerm();
    }
    if (this.#state === 'stopping') {
      if (now >= this.#stopDeadline) this.#killAll('SIGKILL');
      return;
    }
    for (const record of this.#workers.values()) record.watch(now, this.#log);
    if (!this.#reloading()) this.#manageWorkers(now);
  }

  #manageWorkers(now: number): void {
    const serving = this.#serving();
    const taken = new Set(serving.map((r) => r.slot));
    // A respawn for a slot that is gone (TTOU) or taken again must not keep the loop awake.
    for (const slot of this.#respawns.keys()) if (slot > this.#target || taken.has(slot)) this.#respawns.delete(slot);
    for (let slot = 1; slot <= this.#target; slot++) {
      if (taken.has(slot) || now < (this.#respawns.get(slot) ?? 0)) continue;
      this.#respawns.delete(slot);
      this.#spawn(slot);
    }
    for (const record of serving) {
      if (record.slot > this.#target) this.#drain(record);
      else if (record.phase.kind === 'ready' && record.phase.recycle && now - record.phase.recycle.at >= RECYCLE_RETRY_MS) {
        this.#recycle(record, record.phase.recycle.reason);
      }
    }
  }

  // --- successions

  #reloading(): boolean {
    return [...this.#successions].some((s) => s.kind === 'reload');
  }

  /** The succession this worker is a successor in, if any. */
  #bringing(record: WorkerRecord): Succession | undefined {
    return [...this.#successions].find((s) => s.incoming.has(record));
  }

  /** A worker leaving on its own (it exited, it crashed) leaves the succession replacing it, if any: true then. */
  #leavesSuccession(record: WorkerRecord): boolean {
    const succession = [...this.#successions].find((s) => s.outgoing.has(record));
    succession?.outgoing.delete(record);
    return succession !== undefined || this.#reloading();
  }

  /** max-requests, max-worker-memory: start a successor for this worker; drain it once the successor serves. */
  #recycle(record: WorkerRecord, reason: RecycleReason): void {
    if (record.phase.kind !== 'ready') return;
    record.phase.recycle = { reason, at: Date.now() };
    const replacing = [...this.#successions].some((s) => s.outgoing.has(record));
    if (this.#state !== 'running' || this.#reloading() || replacing) return;
    const succession = new Succession(reason, { settings: this.#settings, hooks: this.#hooks }, [record], this.#target);
    this.#successions.add(succession);
    succession.incoming.add(this.#spawn(record.slot, succession));
  }

  #complete(succession: Succession): void {
    this.#successions.delete(succession);
    this.#metrics?.restarts.inc({ reason: succession.kind }, succession.outgoing.size);
    for (const record of succession.outgoing) if (this.#workers.has(record.process.id)) this.#drain(record);
    if (succession.kind !== 'reload') return;
    this.#metrics?.reloads.inc({ result: 'succeeded' });
    const previousPid = this.#settings.pid;
    this.#settings = succession.settings;
    this.#hooks = succession.hooks;
    if (previousPid !== this.#settings.pid) {
      movePidFile(previousPid, this.#settings.pid).catch((error: unknown) => this.#log.error(describeError(error)));
    }
    this.#log.info(
      `reload complete: ${succession.incoming.size} new workers serving, ${succession.outgoing.size} old ones draining`,
    );
  }

  /**
   * A successor failed (or a reload supersedes a max-requests replacement): the successors drain (one
   * already serving may have requests in flight; one still booting just exits), and the predecessors,
   * which never stopped serving, stay.
   */
  #abandon(succession: Succession, reason: string, options: { quiet?: boolean } = {}): void {
    this.#successions.delete(succession);
    for (const record of succession.incoming) if (this.#workers.has(record.process.id)) this.#drain(record);
    if (succession.kind === 'reload') {
      this.#metrics?.reloads.inc({ result: 'failed' });
      this.#target = succession.previousTarget;
      this.#log.error(`reload failed, the old workers keep serving: ${reason}`);
    } else if (!options.quiet) {
      const [replaced] = succession.outgoing;
      this.#log.error(`could not replace worker ${replaced?.slot} (${succession.cause}), it keeps serving: ${reason}`);
    }
  }

  // --- spawning, draining, stopping

  /** A worker for `slot`, with the succession's settings and hooks when it is one's successor. */
  #spawn(slot: number, succession?: Succession): WorkerRecord {
    const settings = succession?.settings ?? this.#settings;
    const hooks = succession?.hooks ?? this.#hooks;
    const { maxRequests, maxRequestsJitter, maxWorkerMemory } = settings;
    const configFile = this.#options.configFile;
    const spec: WorkerSpec = {
      kind: this.#options.kind,
      settings,
      app: this.#options.app,
      cwd: this.#options.cwd,
      workerId: slot,
      appArgs: this.#options.appArgs,
      maxRequests: maxRequests > 0 ? maxRequests + randomInt(maxRequestsJitter + 1) : 0,
      // Between 90% and 100% of the setting, never over it.
      maxMemoryMiB: maxWorkerMemory > 0 ? Math.round(maxWorkerMemory * (0.9 + Math.random() * 0.1)) : 0,
      ...(succession ? { deferListen: true } : {}),
      // Workers read the config file only for their own hooks: its import-time code need not run N times.
      ...(configFile && (hooks.postFork || hooks.workerExit) ? { configFile } : {}),
    };
    const worker = cluster.fork({ [WORKER_SETTINGS_ENV]: JSON.stringify(spec) });
    // An IPC failure with a dying worker is not the primary's problem: its exit is handled in #onExit.
    worker.on('error', (error) => this.#log.debug({ err: error }, `worker ${slot} channel error`));
    const record = new WorkerRecord(slot, worker, settings);
    this.#workers.set(worker.id, record);
    this.#log.info(`${record.name} booting`);
    return record;
  }

  #scheduleRespawn(slot: number, served: boolean): void {
    const previous = this.#backoff.get(slot) ?? 0;
    // A worker that served and then died is replaced at once: a rare crash must never leave its slot
    // empty (with every slot empty, node:cluster closes the listener and clients are refused). Backoff
    // is only for a slot whose workers die before they serve (a boot failure proper stops the server).
    const delay = served ? 0 : Math.min(BACKOFF_MAX_MS, previous === 0 ? BACKOFF_FIRST_MS : previous * 2);
    this.#backoff.set(slot, delay);
    if (delay > 0) this.#log.warn(`worker ${slot} died before it served: respawning in ${delay} ms`);
    this.#respawns.set(slot, Date.now() + delay);
  }

  #drain(record: WorkerRecord): void {
    record.command({ gantry: 'drain', timeoutMs: record.settings.gracefulTimeout * 1000 });
    record.phase = { kind: 'draining', since: Date.now(), why: 'stopped' };
  }

  #stop(command: PrimaryMessage, withinMs: number): void {
    this.#state = 'stopping';
    this.#respawns.clear();
    this.#stopDeadline = Math.min(this.#stopDeadline, Date.now() + withinMs);
    for (const record of this.#workers.values()) {
      if (command.gantry === 'drain' && record.phase.kind === 'draining') continue;
      // The command first: how it is sent depends on the phase the worker is in now.
      record.command(command);
      record.phase = { kind: 'draining', since: Date.now(), why: 'stopped' };
    }
  }

  #killAll(signal: NodeJS.Signals): void {
    for (const record of this.#workers.values()) {
      this.#log.warn(`${record.name} did not stop in time: ${signal}`);
      record.process.process.kill(signal);
    }
  }

  #haltWith(failure: BootFailure): void {
    this.#halt = new GantryError(failure.code, failure.message + (failure.detail ? `\n${failure.detail}` : ''));
    this.#stop({ gantry: 'quit' }, FAST_STOP_MS);
  }

  /**
   * Workers that count toward the target: booting or serving (a hung or late-booting one being killed
   * holds its slot until it is gone), not leaving, not a pending successor.
   */
  #serving(): WorkerRecord[] {
    return [...this.#workers.values()].filter((r) => !r.leaving && this.#bringing(r) === undefined);
  }

  #context(): ServerContext {
    const workers = this.#serving().map((r) => ({ id: r.slot, pid: r.pid }));
    return { kind: this.#options.kind, settings: this.#settings, log: this.#log, workers };
  }
}
