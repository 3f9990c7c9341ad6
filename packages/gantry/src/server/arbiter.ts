/**
 * The primary process (gunicorn's arbiter): forks the workers, supervises them and stops them.
 *
 * As in gunicorn, signal handlers only enqueue; one loop dispatches each signal to its handler, then
 * does the housekeeping (respawning, stop deadlines) at least once a second. The primary never loads the
 * app. A worker that cannot boot halts the whole server with its exit code instead of a crash loop.
 */
import cluster, { type Worker } from 'node:cluster';
import { rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type ErrorCodeValue, type ExitCodeValue, ErrorCode, ExitCode, GantryError } from '../errors.js';
import type { Logger } from '../logger.js';
import { bindUrl, removeStaleUnixSocket } from './bind.js';
import { type PrimaryMessage, WORKER_SETTINGS_ENV, isWorkerMessage } from './messages.js';
import type { ServerSettings } from './settings.js';
import type { WorkerSpec } from './worker.js';

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.js', import.meta.url));
const TICK_MS = 1000;
/** A fast stop (INT/QUIT) waits this long for workers before SIGKILL. */
const FAST_STOP_MS = 2000;
/** Respawn backoff after a crash: doubles from the first step up to the cap, reset by a long-lived worker. */
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 10_000;
const STABLE_AFTER_MS = 10_000;

const HANDLED_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;
type HandledSignal = (typeof HANDLED_SIGNALS)[number];

interface BootFailure {
  readonly code: ErrorCodeValue;
  readonly message: string;
  readonly detail?: string;
  readonly exitCode: ExitCodeValue;
}

interface WorkerRecord {
  readonly slot: number;
  readonly process: Worker;
  readonly startedAt: number;
  state: 'booting' | 'ready' | 'stopping';
  bootFailure?: BootFailure;
}

export interface ArbiterOptions {
  readonly settings: ServerSettings;
  readonly app: string;
  readonly cwd: string;
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
  #wake: (() => void) | undefined;
  #state: 'booting' | 'running' | 'stopping' = 'booting';
  #stopDeadline = Infinity;
  #halt: GantryError | undefined;

  constructor(options: ArbiterOptions) {
    this.#options = options;
    this.#log = options.logger;
  }

  /** Runs until stopped; resolves with the exit code, or rejects with the error that halted the server. */
  async run(): Promise<ExitCodeValue> {
    const { settings } = this.#options;
    process.title = `gantry: primary [${this.#options.app}]`;
    for (const bind of settings.bind) await removeStaleUnixSocket(bind);
    if (settings.pid) await writeFile(settings.pid, `${process.pid}\n`);

    const onSignal = (signal: HandledSignal) => () => this.#enqueue(signal);
    const handlers = HANDLED_SIGNALS.map((signal) => [signal, onSignal(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);

    cluster.setupPrimary({ exec: WORKER_MAIN, args: [] });
    cluster.on('message', this.#onMessage);
    cluster.on('exit', this.#onExit);
    this.#log.info(`starting gantry for ${this.#options.app} with ${settings.workers} workers (primary pid ${process.pid})`);
    for (let slot = 1; slot <= settings.workers; slot++) this.#spawn(slot);

    try {
      while (!this.#finished()) {
        await this.#sleep(TICK_MS);
        for (let signal = this.#signals.shift(); signal; signal = this.#signals.shift()) this.#dispatch(signal);
        this.#housekeeping();
      }
    } finally {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      cluster.off('message', this.#onMessage);
      cluster.off('exit', this.#onExit);
      if (settings.pid) await rm(settings.pid, { force: true });
    }
    if (this.#halt) throw this.#halt;
    this.#log.info('stopped');
    return ExitCode.OK;
  }

  #finished(): boolean {
    return this.#state === 'stopping' && this.#workers.size === 0;
  }

  #enqueue(signal: HandledSignal): void {
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
    const handlers: Record<HandledSignal, () => void> = {
      SIGTERM: () => this.#handleTerm(),
      SIGINT: () => this.#handleQuit(signal),
      SIGQUIT: () => this.#handleQuit(signal),
    };
    handlers[signal]();
  }

  /**
   * TERM: graceful stop. A repeated TERM changes nothing (some supervisors send it to the process and
   * to its group); INT or QUIT turns a graceful stop into a fast one.
   */
  #handleTerm(): void {
    if (this.#state === 'stopping') return;
    const { gracefulTimeout } = this.#options.settings;
    this.#log.info(`SIGTERM: stopping gracefully (in-flight requests get up to ${gracefulTimeout} s)`);
    this.#stop({ gantry: 'drain', timeoutMs: gracefulTimeout * 1000 }, gracefulTimeout * 1000 + 1000);
  }

  /** INT/QUIT: fast stop. */
  #handleQuit(signal: HandledSignal): void {
    this.#log.info(`${signal}: stopping now`);
    this.#stop({ gantry: 'quit' }, FAST_STOP_MS);
  }

  #stop(command: PrimaryMessage, withinMs: number): void {
    this.#state = 'stopping';
    this.#respawns.clear();
    this.#stopDeadline = Math.min(this.#stopDeadline, Date.now() + withinMs);
    for (const record of this.#workers.values()) {
      record.state = 'stopping';
      this.#command(record, command);
    }
  }

  /**
   * Sends a command; a worker whose channel is already closed (it is exiting) gets TERM instead. The
   * callback matters: without one, a send on a channel closing under it would throw in the primary.
   */
  #command(record: WorkerRecord, command: PrimaryMessage): void {
    const fallback = () => void record.process.process.kill('SIGTERM');
    if (!record.process.isConnected()) return fallback();
    record.process.send(command, undefined, {}, (error: Error | null) => {
      if (error) fallback();
    });
  }

  #housekeeping(): void {
    if (this.#state === 'stopping') {
      if (Date.now() >= this.#stopDeadline) this.#killAll('SIGKILL');
      return;
    }
    const now = Date.now();
    for (const [slot, notBefore] of this.#respawns) {
      if (now >= notBefore) {
        this.#respawns.delete(slot);
        this.#spawn(slot);
      }
    }
  }

  #killAll(signal: NodeJS.Signals): void {
    for (const record of this.#workers.values()) {
      this.#log.warn(`worker ${record.slot} (pid ${record.process.process.pid}) did not stop in time: ${signal}`);
      record.process.process.kill(signal);
    }
  }

  #spawn(slot: number): void {
    const { settings, app, cwd } = this.#options;
    const spec: WorkerSpec = { settings, app, cwd, workerId: slot };
    const worker = cluster.fork({ [WORKER_SETTINGS_ENV]: JSON.stringify(spec) });
    // An IPC failure with a dying worker is not the primary's problem: its exit is handled in #onExit.
    worker.on('error', (error) => this.#log.debug({ err: error }, `worker ${slot} channel error`));
    this.#workers.set(worker.id, { slot, process: worker, startedAt: Date.now(), state: 'booting' });
    this.#log.info(`worker ${slot} (pid ${worker.process.pid}) booting`);
  }

  #onMessage = (worker: Worker, message: unknown): void => {
    const record = this.#workers.get(worker.id);
    if (!record || !isWorkerMessage(message)) return;
    if (message.gantry === 'ready') {
      if (record.state === 'booting') record.state = 'ready';
      this.#log.info(`worker ${record.slot} (pid ${worker.process.pid}) ready`);
      this.#announceIfReady();
    } else if (message.gantry === 'boot-error') {
      record.bootFailure = message;
    }
  };

  #announceIfReady(): void {
    if (this.#state !== 'booting') return;
    const ready = [...this.#workers.values()].filter((r) => r.state === 'ready').length;
    if (ready < this.#options.settings.workers) return;
    this.#state = 'running';
    const urls = this.#options.settings.bind.map(bindUrl).join(', ');
    this.#log.info(`listening at ${urls} with ${ready} workers`);
  }

  #onExit = (worker: Worker, code: number | null, signal: NodeJS.Signals | null): void => {
    const record = this.#workers.get(worker.id);
    if (!record) return;
    this.#workers.delete(worker.id);
    const pid = worker.process.pid;
    const how = signal
      ? `was killed by ${signal}${signal === 'SIGKILL' ? ' (perhaps out of memory?)' : ''}`
      : `exited with code ${code}`;
    const wasStopping = record.state === 'stopping';
    const reason = wasStopping ? 'stopped' : record.bootFailure ? 'failed to boot' : 'crashed';
    (wasStopping && code === 0 ? this.#log.info : this.#log.warn).call(
      this.#log,
      `worker ${record.slot} (pid ${pid}) ${how}: ${reason}`,
    );

    if (this.#state === 'stopping') {
      this.#wake?.();
      return;
    }
    if (record.bootFailure) return this.#haltWith(record.bootFailure);
    if (record.state === 'booting' && signal === null) {
      // Its report may not have arrived (exit and message race): the exit code still says what failed.
      const exitCode = code === ExitCode.APP_LOAD_ERROR || code === ExitCode.USAGE ? code : ExitCode.WORKER_BOOT_ERROR;
      return this.#haltWith({
        code: exitCode === ExitCode.APP_LOAD_ERROR ? ErrorCode.APP_EXPORT : ErrorCode.APP_BOOT,
        message: `worker ${record.slot} exited with code ${code} while loading the app, before it was ready`,
        exitCode,
      });
    }
    this.#scheduleRespawn(record);
  };

  #scheduleRespawn(record: WorkerRecord): void {
    const lived = Date.now() - record.startedAt;
    const previous = this.#backoff.get(record.slot) ?? 0;
    const delay = lived >= STABLE_AFTER_MS ? 0 : Math.min(BACKOFF_MAX_MS, previous === 0 ? BACKOFF_FIRST_MS : previous * 2);
    this.#backoff.set(record.slot, delay);
    if (delay > 0) this.#log.warn(`worker ${record.slot} is crashing repeatedly: respawning in ${delay} ms`);
    this.#respawns.set(record.slot, Date.now() + delay);
    this.#wake?.();
  }

  #haltWith(failure: BootFailure): void {
    this.#halt = new GantryError(failure.code, failure.message + (failure.detail ? `\n${failure.detail}` : ''), {
      exitCode: failure.exitCode,
    });
    this.#stop({ gantry: 'quit' }, FAST_STOP_MS);
    this.#wake?.();
  }
}
