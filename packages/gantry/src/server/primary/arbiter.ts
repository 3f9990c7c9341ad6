/**
 * The primary process (gunicorn's arbiter): forks the workers, supervises them, reloads and stops them.
 *
 * As in gunicorn, signal handlers only enqueue; one loop dispatches each signal to its `handle*` method,
 * then does the housekeeping (respawns, hung and late workers, deadlines) at least once a second. The
 * primary never serves requests.
 *
 * Replacing workers without losing a request is one mechanism, a succession: start the successors,
 * let each load the app, open their listeners once every one has loaded, and once every one serves,
 * drain the predecessors. A reload (HUP) is a succession of all workers with freshly read settings;
 * max-requests is a succession of one. If a successor fails to boot, the succession is abandoned and the
 * predecessors keep serving; since successors listen only once all have loaded, a reload that fails
 * to load never answers a request with the new code.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomInt } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type ErrorCodeValue, type ExitCodeValue, ErrorCode, ExitCode, GantryError, describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { loadApp } from '../app/load.js';
import { bindUrl, formatBind, removeStaleUnixSocket } from '../bind.js';
import { type Hooks, type ServerContext, runHook } from '../hooks.js';
import { WORKER_SETTINGS_ENV } from '../../internal-env.js';
import {
  HEARTBEAT_MS,
  type PrimaryMessage,
  type RecycleReason,
  type WorkerSpec,
  isWorkerMessage,
  stopBudgetMs,
} from '../messages.js';
import type { MetricsJson } from '../http/metrics.js';
import type { ServerSettings } from '../settings.js';
import type { PrimaryMetrics, RestartReason, StatusServer, StatusSource } from './status-server.js';
import { withTimeLimit } from '../../time-limit.js';

const WORKER_MAIN = fileURLToPath(new URL('../worker/main.js', import.meta.url));
const TICK_MS = 1000;
/** How long /metrics waits for the workers' answers. */
const METRICS_WAIT_MS = 1000;
/** A fast stop (INT/QUIT) waits this long for workers before SIGKILL. */
const FAST_STOP_MS = 2000;
/** After SIGABRT, a hung worker gets this long before SIGKILL. */
const ABORT_GRACE_MS = 2000;
/** Slack over `timeout` before a silent worker counts as hung: a heartbeat comes every HEARTBEAT_MS. */
const HEARTBEAT_SLACK_MS = HEARTBEAT_MS + 500;
/** Respawn backoff for a slot whose workers die before they serve: doubles up to the cap, reset by one that serves. */
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 10_000;
/** A failed max-requests replacement is tried again after this long. */
const RECYCLE_RETRY_MS = 10_000;

const HANDLED_SIGNALS = ['SIGHUP', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGTTIN', 'SIGTTOU', 'SIGUSR1'] as const;
type HandledSignal = (typeof HANDLED_SIGNALS)[number];

interface BootFailure {
  readonly code: ErrorCodeValue;
  readonly message: string;
  readonly detail?: string;
}

interface Succession {
  readonly kind: 'reload' | RecycleReason;
  readonly incoming: Set<WorkerRecord>;
  readonly outgoing: WorkerRecord[];
  readonly settings: ServerSettings;
  readonly hooks: Hooks;
  /** The worker count before a reload (TTIN/TTOU included), restored if it fails. */
  readonly previousTarget: number;
}

interface WorkerRecord {
  readonly slot: number;
  readonly process: Worker;
  readonly settings: ServerSettings;
  readonly startedAt: number;
  state: 'booting' | 'ready' | 'draining';
  /** A successor that has loaded the app and waits for 'listen'. */
  loaded?: boolean;
  lastHeartbeat: number;
  /** Set once SIGABRT was sent (hung) or SIGKILL is due (late drain, boot timeout). */
  killAt?: number;
  bootFailure?: BootFailure;
  /** Set while this worker is a successor that has not taken over yet. */
  succession?: Succession;
  /** max-requests or max-worker-memory reached: why, and the time of the last attempt to replace it. */
  recycle?: { readonly reason: RecycleReason; at: number };
  /** It said it crashed (an uncaught exception) and is finishing its requests before it exits. */
  crashed?: boolean;
}

export interface LoadedServerConfig {
  readonly settings: ServerSettings;
  readonly hooks: Hooks;
}

export interface ArbiterOptions {
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
  /** Slots waiting for a respawn, with the earliest time it may happen. */
  readonly #respawns = new Map<number, number>();
  readonly #backoff = new Map<number, number>();
  readonly #signals: HandledSignal[] = [];
  #settings: ServerSettings;
  #hooks: Hooks;
  #target: number;
  /** A reload reading its settings (in the background: the loop keeps supervising meanwhile). */
  #preparing: Promise<void> | undefined;
  #reload: Succession | undefined;
  #wake: (() => void) | undefined;
  #state: 'booting' | 'running' | 'stopping' = 'booting';
  /** Past the start-up steps (see #startUp): from here on, the loop handles every signal. */
  #started = false;
  /** Resolved by a stop signal that arrives during the start-up steps. */
  readonly #stopRequested = Promise.withResolvers<HandledSignal>();
  #stopDeadline = Infinity;
  #halt: GantryError | undefined;
  #metrics: PrimaryMetrics | undefined;
  #statusServer: StatusServer | undefined;
  /** Metrics requests waiting for workers' answers, by request id. */
  readonly #metricsWaiting = new Map<number, (worker: number, metrics: MetricsJson) => void>();
  #metricsRequests = 0;
  /** The counters and histograms of workers that are gone, summed: aggregated totals never go down. */
  #retired: MetricsJson = [];
  /** Workers whose final metrics are in #retired (their live answers must not be counted again). */
  readonly #retiredWorkers = new Set<number>();
  #retiring: Promise<void> = Promise.resolve();

  constructor(options: ArbiterOptions) {
    this.#options = options;
    this.#log = options.logger;
    this.#settings = options.initial.settings;
    this.#hooks = options.initial.hooks;
    this.#target = this.#settings.workers;
  }

  /** The metrics and status server, with --metrics-bind. prom-client is loaded only then (~12 MiB). */
  async #startStatusServer(): Promise<void> {
    const metricsBind = this.#settings.metricsBind;
    if (!metricsBind) return;
    const { PrimaryMetrics, StatusServer } = await import('./status-server.js');
    const source: StatusSource = {
      app: this.#options.app,
      ready: () => this.#state !== 'stopping' && this.#serving().some((r) => r.state === 'ready'),
      workers: () =>
        [...this.#workers.values()].map((r) => ({
          slot: r.slot,
          pid: r.process.process.pid ?? 0,
          state: r.state,
          startedAt: r.startedAt,
        })),
      collectWorkerMetrics: () => this.#collectWorkerMetrics(),
    };
    this.#metrics = new PrimaryMetrics(source);
    this.#statusServer = new StatusServer(metricsBind, source, this.#metrics, this.#log);
    // Up before the workers, so that /ready says "not ready" until one serves.
    await this.#statusServer.listen();
  }

  /** Adds a gone worker's counters to #retired; one at a time, as each addition reads the previous sum. */
  #retire(workerId: number, metrics: MetricsJson): void {
    this.#retiredWorkers.add(workerId);
    this.#retiring = this.#retiring.then(async () => {
      const [{ AggregatorRegistry }, { cumulativeOnly }] = await Promise.all([
        import('prom-client'),
        import('../http/metrics.js'),
      ]);
      const summed = AggregatorRegistry.aggregate([this.#retired, cumulativeOnly(metrics)]);
      this.#retired = await summed.getMetricsAsJSON();
    });
  }

  /**
   * Asks every worker for its metrics; those that do not answer within METRICS_WAIT_MS are left out.
   * The totals of workers that are gone come along, so that sums across workers never go down (a
   * worker replaced by max-requests would otherwise look to Prometheus like a counter reset).
   */
  #collectWorkerMetrics(): Promise<MetricsJson[]> {
    const id = ++this.#metricsRequests;
    const asked = [...this.#workers.values()].filter((r) => r.state !== 'booting' && r.process.isConnected());
    const answers = new Map<number, MetricsJson>();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.#metricsWaiting.delete(id);
        const live = [...answers].filter(([worker]) => !this.#retiredWorkers.has(worker)).map(([, metrics]) => metrics);
        void this.#retiring.then(() => resolve([...live, this.#retired]));
      };
      const timer = setTimeout(finish, METRICS_WAIT_MS);
      this.#metricsWaiting.set(id, (worker, metrics) => {
        answers.set(worker, metrics);
        if (answers.size === asked.length) finish();
      });
      if (asked.length === 0) return finish();
      for (const record of asked) this.#command(record, { gantry: 'collect-metrics', id });
    });
  }

  #context(): ServerContext {
    const workers = this.#serving().map((r) => ({ id: r.slot, pid: r.process.process.pid ?? 0 }));
    return { settings: this.#settings, log: this.#log, workers };
  }

  /** Runs until stopped; resolves with the exit code, or rejects with the error that halted the server. */
  async run(): Promise<ExitCodeValue> {
    process.title = `gantry: primary [${this.#options.app}]`;
    // Signal handlers come first: a stop while starting up (a preload that hangs, as PID 1) is heard.
    const onSignal = (signal: HandledSignal) => () => this.#enqueue(signal);
    const handlers = HANDLED_SIGNALS.map((signal) => [signal, onSignal(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    try {
      const stoppedBy = await this.#startUp();
      if (stoppedBy) {
        this.#log.info(`${stoppedBy} while starting up: stopped before any worker started`);
        return ExitCode.OK;
      }
      cluster.setupPrimary({ exec: WORKER_MAIN, args: [] });
      cluster.on('message', this.#onMessage);
      cluster.on('exit', this.#onExit);
      this.#log.info(`starting gantry for ${this.#options.app} with ${this.#target} workers (primary pid ${process.pid})`);
      for (let slot = 1; slot <= this.#target; slot++) this.#spawn(slot);
      while (!this.#finished()) {
        await this.#sleep(this.#nextWake());
        for (let signal = this.#signals.shift(); signal; signal = this.#signals.shift()) this.#dispatch(signal);
        this.#housekeeping();
      }
    } finally {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      cluster.off('message', this.#onMessage);
      cluster.off('exit', this.#onExit);
      await runHook(this.#hooks, 'onExit', this.#context());
      this.#statusServer?.close();
      if (this.#settings.pid) await rm(this.#settings.pid, { force: true });
    }
    if (this.#halt) throw this.#halt;
    this.#log.info('stopped');
    return ExitCode.OK;
  }

  /**
   * What comes before the first worker: the onStarting hook, the status server, preload, stale unix
   * sockets, the pid file. Each step is bounded by boot-timeout (a hang is an error that says which step
   * hung, exit 3), and a stop signal ends the start-up at once: resolves with that signal, or undefined.
   */
  async #startUp(): Promise<HandledSignal | undefined> {
    const settings = this.#settings;
    const steps: [string, () => Promise<unknown>][] = [
      ['the onStarting hook', () => runHook(this.#hooks, 'onStarting', this.#context())],
      ['the metrics and status server', () => this.#startStatusServer()],
      ['preload (loading the app in the primary)', async () => (settings.preload ? this.#preload(settings) : undefined)],
      [
        'preparing the listen addresses and the pid file',
        async () => {
          for (const bind of settings.bind) await removeStaleUnixSocket(bind);
          if (settings.pid) await writePidFile(settings.pid);
        },
      ],
    ];
    const stop = this.#stopRequested.promise.then((signal) => ({ stoppedBy: signal }));
    for (const [what, step] of steps) {
      const outcome = await Promise.race([
        withTimeLimit(step(), settings.bootTimeout * 1000, () => {
          throw new GantryError(
            ErrorCode.BOOT_TIMEOUT,
            `${what} did not finish within boot-timeout (${settings.bootTimeout} s).`,
            {},
          );
        }).then(() => undefined),
        stop,
      ]);
      if (outcome) return outcome.stoppedBy;
    }
    this.#started = true;
    return undefined;
  }

  /** preload: the app must load in the primary before any worker is forked (it is then closed again). */
  async #preload(settings: ServerSettings): Promise<void> {
    this.#log.info(`preload: loading ${this.#options.app} in the primary`);
    const app = await loadApp(this.#options.app, {
      cwd: this.#options.cwd,
      context: { workerId: 0 },
      fresh: this.#state !== 'booting',
      appKind: settings.appKind,
      adoptWithinMs: settings.bootTimeout * 1000,
    });
    await app.close?.();
    this.#log.info(`preload: ${this.#options.app} loads (${settings.workers} workers will serve it)`);
  }

  #finished(): boolean {
    return this.#state === 'stopping' && this.#workers.size === 0;
  }

  /** Sleep until the next tick, or sooner when a respawn is due. */
  #nextWake(): number {
    const due = Math.min(...this.#respawns.values()) - Date.now();
    return Math.max(0, Math.min(TICK_MS, due));
  }

  #enqueue(signal: HandledSignal): void {
    if (!this.#started && (signal === 'SIGTERM' || signal === 'SIGINT' || signal === 'SIGQUIT')) {
      this.#stopRequested.resolve(signal);
    }
    this.#signals.push(signal);
    this.#wake?.();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

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
   * preload's check) runs in the background, bounded by boot-timeout, so that the loop keeps handling
   * signals and supervising workers meanwhile.
   */
  #handleHup(): void {
    if (this.#preparing || this.#reload) return void this.#log.warn('SIGHUP: a reload is already in progress; ignored');
    this.#log.info('SIGHUP: reloading (settings, then new workers; the old ones drain once the new ones serve)');
    this.#preparing = this.#prepareReload().finally(() => (this.#preparing = undefined));
  }

  async #prepareReload(): Promise<void> {
    const limitMs = this.#settings.bootTimeout * 1000;
    let next: LoadedServerConfig;
    try {
      next = await withDeadline(
        (async () => {
          const loaded = await this.#options.reload();
          if (loaded.settings.preload) await this.#preload(loaded.settings);
          await runHook(loaded.hooks, 'onReload', { ...this.#context(), settings: loaded.settings });
          for (const bind of loaded.settings.bind) {
            if (!this.#settings.bind.some((b) => formatBind(b) === formatBind(bind))) await removeStaleUnixSocket(bind);
          }
          return loaded;
        })(),
        limitMs,
        `reading the settings took longer than boot-timeout (${limitMs / 1000} s)`,
      );
    } catch (error) {
      return void this.#log.error(`reload aborted, the current workers keep serving: ${describeError(error)}`);
    }
    if (this.#state === 'stopping') return;
    // A max-requests replacement under way is superseded: every worker is replaced now.
    for (const succession of this.#successions()) this.#abandon(succession, 'superseded by a reload', { quiet: true });
    const previousTarget = this.#target;
    this.#target = next.settings.workers;
    this.#respawns.clear();
    const succession: Succession = { kind: 'reload', incoming: new Set(), outgoing: this.#serving(), ...next, previousTarget };
    this.#reload = succession;
    for (let slot = 1; slot <= this.#target; slot++) succession.incoming.add(this.#spawn(slot, succession));
    this.#wake?.();
  }

  /** The successions under way, each once. */
  #successions(): Succession[] {
    return [...new Set([...this.#workers.values()].flatMap((r) => (r.succession ? [r.succession] : [])))];
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
    for (const record of this.#workers.values()) this.#command(record, { gantry: 'reopen-logs' });
  }

  #stop(command: PrimaryMessage, withinMs: number): void {
    this.#state = 'stopping';
    this.#respawns.clear();
    this.#stopDeadline = Math.min(this.#stopDeadline, Date.now() + withinMs);
    for (const record of this.#workers.values()) {
      if (command.gantry === 'drain' && record.state === 'draining') continue;
      // The command first: how it is sent depends on the state the worker is in now.
      this.#command(record, command);
      record.state = 'draining';
    }
  }

  /**
   * Sends a command; a worker whose channel is already closed (it is exiting) gets TERM instead. The
   * callback matters: without one, a send on a channel closing under it would throw in the primary.
   * A worker that has not said anything yet may not be listening to its channel (node drops a message
   * nobody listens to): it is told to stop by signal, whose default action (exit) is right until its
   * handler takes over (TERM drains, INT quits).
   */
  #command(record: WorkerRecord, command: PrimaryMessage): void {
    const fallback = () => void record.process.process.kill('SIGTERM');
    if (record.state === 'booting' && !record.loaded && (command.gantry === 'drain' || command.gantry === 'quit')) {
      return void record.process.process.kill(command.gantry === 'drain' ? 'SIGTERM' : 'SIGINT');
    }
    if (!record.process.isConnected()) return fallback();
    record.process.send(command, undefined, {}, (error: Error | null) => {
      if (error) fallback();
    });
  }

  /** Workers that count toward the target: booting or serving, not draining, not a pending successor. */
  #serving(): WorkerRecord[] {
    return [...this.#workers.values()].filter((r) => r.state !== 'draining' && !r.succession);
  }

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
    for (const record of this.#workers.values()) this.#watch(record, now);
    if (this.#reload) return;
    this.#manageWorkers(now);
  }

  /** Kills workers that are hung, late to boot or late to finish draining. */
  #watch(record: WorkerRecord, now: number): void {
    const pid = record.process.process.pid;
    if (record.killAt !== undefined) {
      if (now >= record.killAt) record.process.process.kill('SIGKILL');
      return;
    }
    const { timeout, bootTimeout, gracefulTimeout } = record.settings;
    if (record.state === 'booting' && now - record.startedAt > bootTimeout * 1000) {
      record.bootFailure = {
        code: ErrorCode.APP_BOOT,
        message: `worker ${record.slot} (pid ${pid}) was not serving ${bootTimeout} s after it started (boot-timeout)`,
      };
      record.killAt = now;
      record.process.process.kill('SIGKILL');
    } else if (record.state === 'ready' && timeout > 0 && now - record.lastHeartbeat > timeout * 1000 + HEARTBEAT_SLACK_MS) {
      const silent = ((now - record.lastHeartbeat) / 1000).toFixed(1);
      this.#log.error(`worker ${record.slot} (pid ${pid}) is hung: no heartbeat for ${silent} s (timeout ${timeout} s); SIGABRT`);
      record.killAt = now + ABORT_GRACE_MS;
      record.process.process.kill('SIGABRT');
    } else if (record.state === 'draining' && now - record.lastHeartbeat > stopBudgetMs(gracefulTimeout)) {
      this.#log.warn(`worker ${record.slot} (pid ${pid}) is still draining past graceful-timeout: SIGKILL`);
      record.killAt = now;
    }
  }

  #manageWorkers(now: number): void {
    const serving = this.#serving();
    const taken = new Set(serving.map((r) => r.slot));
    // A respawn for a slot that is gone (TTOU) or taken again must not keep the loop awake.
    for (const slot of this.#respawns.keys()) if (slot > this.#target || taken.has(slot)) this.#respawns.delete(slot);
    for (let slot = 1; slot <= this.#target; slot++) {
      if (taken.has(slot)) continue;
      const notBefore = this.#respawns.get(slot) ?? 0;
      if (now < notBefore) continue;
      this.#respawns.delete(slot);
      this.#spawn(slot);
    }
    for (const record of serving.filter((r) => r.slot > this.#target)) this.#drain(record);
    for (const record of serving) {
      const asked = record.recycle;
      if (asked && record.state === 'ready' && !this.#inSuccession(record) && now - asked.at >= RECYCLE_RETRY_MS) {
        this.#recycle(record, asked.reason, now);
      }
    }
  }

  /** The succession under way that replaces this worker, if any. */
  #successionReplacing(record: WorkerRecord): Succession | undefined {
    return this.#successions().find((succession) => succession.outgoing.includes(record));
  }

  #inSuccession(record: WorkerRecord): boolean {
    return this.#successionReplacing(record) !== undefined;
  }

  #drain(record: WorkerRecord): void {
    this.#command(record, { gantry: 'drain', timeoutMs: record.settings.gracefulTimeout * 1000 });
    record.state = 'draining';
    record.lastHeartbeat = Date.now();
  }

  #killAll(signal: NodeJS.Signals): void {
    for (const record of this.#workers.values()) {
      this.#log.warn(`worker ${record.slot} (pid ${record.process.process.pid}) did not stop in time: ${signal}`);
      record.process.process.kill(signal);
    }
  }

  /** A worker for `slot`, with the succession's settings and hooks when it is one's successor. */
  #spawn(slot: number, succession?: Succession): WorkerRecord {
    const settings = succession?.settings ?? this.#settings;
    const { maxRequests, maxRequestsJitter, maxWorkerMemory } = settings;
    const spec: WorkerSpec = {
      settings,
      app: this.#options.app,
      cwd: this.#options.cwd,
      workerId: slot,
      appArgs: this.#options.appArgs,
      maxRequests: maxRequests > 0 ? maxRequests + randomInt(maxRequestsJitter + 1) : 0,
      // Between 90% and 100% of the setting, never over it.
      maxMemoryMiB: maxWorkerMemory > 0 ? Math.round(maxWorkerMemory * (0.9 + Math.random() * 0.1)) : 0,
      ...(succession ? { deferListen: true } : {}),
    };
    // Workers read the config file only for their own hooks: its import-time code need not run N times.
    const hooks = succession?.hooks ?? this.#hooks;
    const configFile = this.#options.configFile;
    if (configFile && (hooks.postFork || hooks.workerExit)) Object.assign(spec, { configFile });
    const worker = cluster.fork({ [WORKER_SETTINGS_ENV]: JSON.stringify(spec) });
    // An IPC failure with a dying worker is not the primary's problem: its exit is handled in #onExit.
    worker.on('error', (error) => this.#log.debug({ err: error }, `worker ${slot} channel error`));
    const now = Date.now();
    const record: WorkerRecord = { slot, process: worker, settings, startedAt: now, state: 'booting', lastHeartbeat: now };
    if (succession) record.succession = succession;
    this.#workers.set(worker.id, record);
    this.#log.info(`worker ${slot} (pid ${worker.process.pid}) booting`);
    return record;
  }

  #onMessage = (worker: Worker, message: unknown): void => {
    const record = this.#workers.get(worker.id);
    if (!record || !isWorkerMessage(message)) return;
    switch (message.gantry) {
      case 'heartbeat':
        if (record.state !== 'draining') record.lastHeartbeat = Date.now();
        return;
      case 'loaded':
        return this.#onLoaded(record);
      case 'ready':
        return this.#onReady(record);
      case 'boot-error':
        record.bootFailure = message;
        return;
      case 'recycle':
        return this.#recycle(record, message.reason, Date.now());
      case 'crashed':
        return this.#onCrashed(record);
      case 'metrics':
        return this.#metricsWaiting.get(message.id)?.(worker.id, message.metrics);
      case 'final-metrics':
        return this.#retire(worker.id, message.metrics);
      case 'stopped-accepting':
        // node:cluster has taken this worker off the listener by now (its own message came first), so
        // this answer is the last thing it can receive before a handed-off connection could be lost.
        return this.#command(record, { gantry: 'no-more-connections' });
    }
  };

  /** A successor loaded the app; once all of its succession's successors have, they all open their listeners. */
  #onLoaded(record: WorkerRecord): void {
    record.loaded = true;
    const succession = record.succession;
    if (!succession || ![...succession.incoming].every((r) => r.loaded)) return;
    for (const successor of succession.incoming) this.#command(successor, { gantry: 'listen' });
  }

  #onReady(record: WorkerRecord): void {
    if (record.state !== 'booting') return;
    record.state = 'ready';
    record.lastHeartbeat = Date.now();
    this.#log.info(`worker ${record.slot} (pid ${record.process.process.pid}) ready`);
    const succession = record.succession;
    if (succession && [...succession.incoming].every((r) => r.state === 'ready')) this.#complete(succession);
    this.#announceIfReady();
  }

  #announceIfReady(): void {
    if (this.#state !== 'booting') return;
    const ready = this.#serving().filter((r) => r.state === 'ready').length;
    if (ready < this.#target) return;
    this.#state = 'running';
    const urls = this.#settings.bind.map(bindUrl).join(', ');
    this.#log.info(`listening at ${urls} with ${ready} workers`);
    void runHook(this.#hooks, 'whenReady', this.#context());
  }

  /** max-requests, max-worker-memory: start a successor for this worker; drain it once the successor serves. */
  #recycle(record: WorkerRecord, reason: RecycleReason, now: number): void {
    record.recycle = { reason, at: now };
    if (this.#state !== 'running' || this.#reload || record.state !== 'ready' || this.#inSuccession(record)) return;
    const succession: Succession = {
      kind: reason,
      incoming: new Set(),
      outgoing: [record],
      settings: this.#settings,
      hooks: this.#hooks,
      previousTarget: this.#target,
    };
    succession.incoming.add(this.#spawn(record.slot, succession));
  }

  #complete(succession: Succession): void {
    this.#metrics?.restarts.inc({ reason: succession.kind }, succession.outgoing.length);
    if (succession.kind === 'reload') this.#metrics?.reloads.inc({ result: 'succeeded' });
    for (const record of succession.incoming) delete record.succession;
    for (const record of succession.outgoing) if (this.#workers.has(record.process.id)) this.#drain(record);
    if (succession.kind === 'reload') {
      const previousPid = this.#settings.pid;
      this.#settings = succession.settings;
      this.#hooks = succession.hooks;
      this.#reload = undefined;
      if (previousPid !== this.#settings.pid) void this.#movePidFile(previousPid);
      this.#log.info(
        `reload complete: ${succession.incoming.size} new workers serving, ${succession.outgoing.length} old ones draining`,
      );
    }
  }

  async #movePidFile(previous: string | null): Promise<void> {
    if (previous) await rm(previous, { force: true });
    if (this.#settings.pid)
      await writePidFile(this.#settings.pid).catch((error: unknown) => this.#log.error(describeError(error)));
  }

  /**
   * A successor failed (or a reload supersedes a max-requests replacement): the successors drain (one
   * already serving may have requests in flight; one still booting just exits), and the predecessors,
   * which never stopped serving, stay.
   */
  #abandon(succession: Succession, reason: string, options: { quiet?: boolean } = {}): void {
    for (const record of succession.incoming) {
      delete record.succession;
      if (this.#workers.has(record.process.id)) this.#drain(record);
    }
    if (succession.kind === 'reload') {
      this.#metrics?.reloads.inc({ result: 'failed' });
      this.#reload = undefined;
      this.#target = succession.previousTarget;
      this.#log.error(`reload failed, the old workers keep serving: ${reason}`);
    } else if (!options.quiet) {
      const why = succession.kind === 'memory' ? 'max-worker-memory' : 'max-requests';
      this.#log.error(`could not replace worker ${succession.outgoing[0]?.slot} (${why}), it keeps serving: ${reason}`);
    }
  }

  #onExit = (worker: Worker, code: number | null, signal: NodeJS.Signals | null): void => {
    const record = this.#workers.get(worker.id);
    if (!record) return;
    this.#workers.delete(worker.id);
    // A SIGKILL gantry did not send is most often the kernel's out-of-memory killer.
    const oom = signal === 'SIGKILL' && record.killAt === undefined ? ' (perhaps out of memory?)' : '';
    const how = signal ? `was killed by ${signal}${oom}` : `exited with code ${code}`;
    const reason = record.crashed
      ? 'crashed'
      : record.state === 'draining'
        ? 'stopped'
        : record.bootFailure
          ? 'failed to boot'
          : record.killAt !== undefined
            ? 'hung'
            : 'crashed';
    const level = reason === 'stopped' && code === 0 ? 'info' : 'warn';
    this.#log[level](`worker ${record.slot} (pid ${worker.process.pid}) ${how}: ${reason}`);
    this.#wake?.();
    if (this.#state === 'stopping' || record.state === 'draining') return;

    const failure = record.state === 'booting' ? this.#bootFailureOf(record, code, signal) : undefined;
    if (record.succession) {
      return this.#abandon(record.succession, failure?.message ?? `worker ${record.slot} ${how} before it was serving`);
    }
    if (failure) return this.#haltWith(failure);
    // A predecessor that dies mid-succession is replaced by its successor; otherwise respawn its slot.
    if (!this.#reload && !this.#inSuccessionAfterExit(record)) {
      const restart: RestartReason = reason === 'hung' ? 'hung' : signal === 'SIGKILL' ? 'killed' : 'crashed';
      this.#metrics?.restarts.inc({ reason: restart });
      this.#scheduleRespawn(record, record.state === 'ready');
    }
  };

  /**
   * A worker caught an uncaught exception: it stops accepting and finishes its requests (up to a few
   * seconds) before it exits. Its slot gets a new worker now, not after that.
   */
  #onCrashed(record: WorkerRecord): void {
    if (record.state !== 'ready' || this.#state !== 'running') return;
    record.crashed = true;
    record.state = 'draining';
    record.lastHeartbeat = Date.now();
    if (this.#reload || this.#inSuccessionAfterExit(record)) return;
    this.#metrics?.restarts.inc({ reason: 'crashed' });
    this.#scheduleRespawn(record, true);
  }

  /** Whether a succession was replacing this exited worker; if so, it leaves that succession's outgoing. */
  #inSuccessionAfterExit(record: WorkerRecord): boolean {
    const outgoing = this.#successionReplacing(record)?.outgoing;
    if (!outgoing) return false;
    outgoing.splice(outgoing.indexOf(record), 1);
    return true;
  }

  /** Why a booting worker exited, or undefined when a signal killed it (respawned, not a boot failure). */
  #bootFailureOf(record: WorkerRecord, exitCode: number | null, signal: NodeJS.Signals | null): BootFailure | undefined {
    if (record.bootFailure) return record.bootFailure;
    if (signal !== null) return undefined;
    // Its report may not have arrived (exit and message race): the exit code still says what failed.
    const code =
      exitCode === ExitCode.APP_LOAD_ERROR
        ? ErrorCode.APP_EXPORT
        : exitCode === ExitCode.USAGE
          ? ErrorCode.APP_CONFIG
          : ErrorCode.APP_BOOT;
    // 13 is node's own: the main module's top-level await never settled and nothing else was left to run.
    const why =
      exitCode === 13
        ? ' (node: a top-level await that never settled, such as an app module awaiting a promise nothing resolves)'
        : '';
    return {
      code,
      message: `worker ${record.slot} exited with code ${exitCode} while loading the app, before it was ready${why}`,
    };
  }

  #scheduleRespawn(record: WorkerRecord, served: boolean): void {
    const previous = this.#backoff.get(record.slot) ?? 0;
    const delay = served ? 0 : Math.min(BACKOFF_MAX_MS, previous === 0 ? BACKOFF_FIRST_MS : previous * 2);
    this.#backoff.set(record.slot, delay);
    if (delay > 0) this.#log.warn(`worker ${record.slot} died before it served: respawning in ${delay} ms`);
    this.#respawns.set(record.slot, Date.now() + delay);
    this.#wake?.();
  }

  #haltWith(failure: BootFailure): void {
    this.#halt = new GantryError(failure.code, failure.message + (failure.detail ? `\n${failure.detail}` : ''));
    this.#stop({ gantry: 'quit' }, FAST_STOP_MS);
  }
}

async function writePidFile(path: string): Promise<void> {
  try {
    await writeFile(path, `${process.pid}\n`);
  } catch (error) {
    throw new GantryError(ErrorCode.PID_FILE, `Cannot write the pid file ${path}: ${describeError(error)}.`);
  }
}

/** `task`, or a rejection with `message` once `ms` have passed. */
function withDeadline<T>(task: Promise<T>, ms: number, message: string): Promise<T> {
  return withTimeLimit(task, ms, () => {
    throw new Error(message);
  });
}
