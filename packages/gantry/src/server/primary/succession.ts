/**
 * A succession: workers replaced without losing a request. The successors start and each loads the app;
 * once every one has, they all open their listeners; once every one serves, the predecessors drain. A
 * reload (HUP) is a succession of all workers with freshly read settings; max-requests and
 * max-worker-memory are successions of one. If a successor fails, the succession is abandoned and the
 * predecessors, which never stopped serving, stay; since successors listen only once all have loaded, a
 * reload that fails to load never answers a request with the new code. The arbiter owns its successions.
 */
import type { Hooks } from '../hooks.js';
import type { RecycleReason } from '../messages.js';
import type { ServerSettings } from '../settings.js';
import type { WorkerRecord } from './worker-record.js';

export class Succession {
  readonly kind: 'reload' | RecycleReason;
  readonly settings: ServerSettings;
  readonly hooks: Hooks;
  /** The worker count before a reload (TTIN/TTOU included), restored if it fails. */
  readonly previousTarget: number;
  readonly incoming = new Set<WorkerRecord>();
  readonly outgoing: Set<WorkerRecord>;

  constructor(
    kind: Succession['kind'],
    next: { readonly settings: ServerSettings; readonly hooks: Hooks },
    outgoing: Iterable<WorkerRecord>,
    previousTarget: number,
  ) {
    this.kind = kind;
    this.settings = next.settings;
    this.hooks = next.hooks;
    this.outgoing = new Set(outgoing);
    this.previousTarget = previousTarget;
  }

  /** Every successor has loaded the app: time for all of them to listen. */
  get loaded(): boolean {
    return [...this.incoming].every((r) => r.phase.kind !== 'booting' || r.phase.loaded);
  }

  /** Every successor serves: time for the predecessors to drain. */
  get ready(): boolean {
    return [...this.incoming].every((r) => r.phase.kind === 'ready');
  }

  /** "max-requests", "max-worker-memory" or "reload": the setting or signal behind it, for the log. */
  get cause(): string {
    return this.kind === 'reload' ? 'reload' : this.kind === 'memory' ? 'max-worker-memory' : 'max-requests';
  }
}
