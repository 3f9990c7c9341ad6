/**
 * What the primary knows of one worker process: its slot, its process, the settings it was started
 * with, and its phase. Each phase holds the data that matters in it, so that watching a worker is a
 * switch over its phase, and why it exited is the phase it was in.
 */
import type { Worker } from 'node:cluster';
import type { ErrorCodeValue } from '../../errors.js';
import type { RecycleReason } from '../messages.js';
import type { ServerSettings } from '../settings.js';

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
