/**
 * What the primary knows of one worker process, and what it does to it: its slot, its process, the
 * settings it was started with, and its phase. Each phase holds the data that matters in it, so that
 * watching a worker is a switch over its phase, and why it exited is the phase it was in.
 */
import type { Worker } from 'node:cluster';
import { type ErrorCodeValue, ErrorCode, ExitCode } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { HEARTBEAT_MS, type PrimaryMessage, type RecycleReason, stopBudgetMs } from '../messages.js';
import type { ServerSettings } from '../settings.js';

/** After SIGABRT, a hung worker gets this long before SIGKILL. */
const ABORT_GRACE_MS = 2000;
/** Slack over `timeout` before a silent worker counts as hung: a heartbeat comes every HEARTBEAT_MS. */
const HEARTBEAT_SLACK_MS = HEARTBEAT_MS + 500;

/** Why a worker could not boot: what it reported, or what its exit said. */
export interface BootFailure {
  readonly code: ErrorCodeValue;
  readonly message: string;
  /** A stack trace, when the failure is inside the app. */
  readonly detail?: string;
}

export type Phase =
  /** Loading the app. `loaded`: a successor that has, and waits for 'listen'; `failure`: what it reported. */
  | { readonly kind: 'booting'; loaded: boolean; failure?: BootFailure }
  /** Serving. `recycle`: it asked to be replaced (max-requests, memory), and when that was last tried. */
  | { readonly kind: 'ready'; lastHeartbeat: number; recycle?: { readonly reason: RecycleReason; at: number } }
  /** Finishing its requests before it exits: told to (`stopped`), or by itself after an uncaught exception. */
  | { readonly kind: 'draining'; readonly since: number; readonly why: 'stopped' | 'crashed' }
  /** gantry is killing it: SIGKILL is due at `at` (a hung worker got SIGABRT first). */
  | {
      readonly kind: 'killing';
      readonly at: number;
      readonly why: 'hung' | 'boot timeout' | 'late drain';
      readonly failure?: BootFailure;
    };

/** What the log says of an exit. */
export type ExitReason = 'stopped' | 'crashed' | 'failed to boot' | 'hung';

export class WorkerRecord {
  readonly slot: number;
  readonly process: Worker;
  readonly settings: ServerSettings;
  readonly startedAt = Date.now();
  phase: Phase = { kind: 'booting', loaded: false };

  constructor(slot: number, process: Worker, settings: ServerSettings) {
    this.slot = slot;
    this.process = process;
    this.settings = settings;
  }

  get pid(): number {
    return this.process.process.pid ?? 0;
  }

  /** "worker 2 (pid 1234)", for the log. */
  get name(): string {
    return `worker ${this.slot} (pid ${this.pid})`;
  }

  /** Whether gantry itself decided this worker ends: it drains, or is killed for being late. */
  get leaving(): boolean {
    return this.phase.kind === 'draining' || (this.phase.kind === 'killing' && this.phase.why === 'late drain');
  }

  /** The state the status page and gantry_workers show. */
  get state(): 'booting' | 'ready' | 'draining' {
    if (this.phase.kind === 'killing')
      return this.phase.why === 'late drain' ? 'draining' : this.phase.why === 'hung' ? 'ready' : 'booting';
    return this.phase.kind;
  }

  /** Kills it when it is hung, late to boot or late to finish draining; SIGKILL once that is due. */
  watch(now: number, log: Logger): void {
    const { timeout, bootTimeout, gracefulTimeout } = this.settings;
    const phase = this.phase;
    switch (phase.kind) {
      case 'killing':
        if (now >= phase.at) this.process.process.kill('SIGKILL');
        return;
      case 'booting':
        if (now - this.startedAt > bootTimeout * 1000) {
          const failure = phase.failure ?? {
            code: ErrorCode.APP_BOOT,
            message: `${this.name} was not serving ${bootTimeout} s after it started (boot-timeout)`,
          };
          this.phase = { kind: 'killing', at: now, why: 'boot timeout', failure };
          this.process.process.kill('SIGKILL');
        }
        return;
      case 'ready':
        if (timeout > 0 && now - phase.lastHeartbeat > timeout * 1000 + HEARTBEAT_SLACK_MS) {
          const silent = ((now - phase.lastHeartbeat) / 1000).toFixed(1);
          log.error(`${this.name} is hung: no heartbeat for ${silent} s (timeout ${timeout} s); SIGABRT`);
          this.phase = { kind: 'killing', at: now + ABORT_GRACE_MS, why: 'hung' };
          this.process.process.kill('SIGABRT');
        }
        return;
      case 'draining':
        if (now - phase.since > stopBudgetMs(gracefulTimeout)) {
          log.warn(`${this.name} is still draining past graceful-timeout: SIGKILL`);
          this.phase = { kind: 'killing', at: now, why: 'late drain' };
        }
        return;
    }
  }

  /**
   * Sends a command; a worker whose channel is already closed (it is exiting) gets TERM instead. The
   * callback matters: without one, a send on a channel closing under it would throw in the primary.
   * A worker that has not said anything yet may not be listening to its channel (node drops a message
   * nobody listens to): it is told to stop by signal, whose default action (exit) is right until its
   * handler takes over (TERM drains, INT quits).
   */
  command(command: PrimaryMessage): void {
    const child = this.process;
    const fallback = () => void child.process.kill('SIGTERM');
    const unheard = this.phase.kind === 'booting' && !this.phase.loaded;
    if (unheard && (command.gantry === 'drain' || command.gantry === 'quit')) {
      return void child.process.kill(command.gantry === 'drain' ? 'SIGTERM' : 'SIGINT');
    }
    if (!child.isConnected()) return fallback();
    child.send(command, undefined, {}, (error: Error | null) => {
      if (error) fallback();
    });
  }

  /**
   * Why it failed to boot: what it reported, else what its exit code says (the report may not have
   * arrived: exit and message race); undefined when a signal killed it (then it is respawned).
   */
  bootFailure(exitCode: number | null, signal: NodeJS.Signals | null): BootFailure | undefined {
    const phase = this.phase;
    const reported = phase.kind === 'booting' || phase.kind === 'killing' ? phase.failure : undefined;
    if (reported) return reported;
    if (signal !== null) return undefined;
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
    return { code, message: `worker ${this.slot} exited with code ${exitCode} while loading the app, before it was ready${why}` };
  }

  exitReason(): ExitReason {
    const phase = this.phase;
    switch (phase.kind) {
      case 'booting':
        return phase.failure ? 'failed to boot' : 'crashed';
      case 'ready':
        return 'crashed';
      case 'draining':
        return phase.why;
      case 'killing':
        return phase.why === 'hung' ? 'hung' : phase.why === 'boot timeout' ? 'failed to boot' : 'stopped';
    }
  }
}
