/**
 * Where PostgreSQL's backends spend their CPU, from Linux perf with DWARF call stacks (the embedded
 * server's binary keeps its symbols): by what the backend was doing (parsing SQL, planning, executing,
 * the socket, transactions) and by the protocol message it was handling (Parse, Bind, Execute, ...).
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { stopProcess } from '../servers.js';

const run = promisify(execFile);

export function hasPerf(): boolean {
  try {
    execFileSync('perf', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Starts sampling the processes (99 Hz per CPU would be too coarse; 499 keeps perf's own cost small). */
export function startPerf(pids: readonly number[], output: string): ChildProcess {
  const args = ['record', '-q', '-F', '499', '--call-graph', 'dwarf,16384', '-o', output, '-p', pids.join(',')];
  return spawn('perf', args, { stdio: 'ignore' });
}

/** Ends a recording: perf writes its data when interrupted. */
export const stopPerf = (perf: ChildProcess): Promise<void> => stopProcess(perf, 'SIGINT');

/**
 * Leaf-first: the first frame of a sample's stack that is one of these says what the process was doing.
 * The kernel's frames come first, so a socket write is one whoever made it; a loopback write includes
 * delivering the data to the receiver and waking it.
 */
const ACTIVITIES: readonly (readonly [string, readonly string[]])[] = [
  [
    'socket writes (kernel TCP over loopback, waking the receiver)',
    ['tcp_sendmsg', 'sock_write_iter', 'secure_write', 'internal_flush', 'socket_flush'],
  ],
  ['socket reads', ['tcp_recvmsg', 'sock_read_iter', 'secure_read', 'pq_recvbuf']],
  ['switching and waiting (scheduler, epoll)', ['do_epoll_wait', 'ep_poll', '__schedule', 'WaitEventSetWait']],
  ['parse SQL text', ['raw_parser']],
  ['analyse and rewrite', ['parse_analyze_fixedparams', 'parse_analyze_varparams', 'pg_rewrite_query']],
  ['plan', ['pg_plan_queries', 'standard_planner']],
  [
    'execute (scan, fetch, update rows)',
    ['standard_ExecutorRun', 'standard_ExecutorStart', 'standard_ExecutorEnd', 'PortalRunMulti'],
  ],
  ['start and commit transactions', ['StartTransactionCommand', 'CommitTransactionCommand']],
  ['process exits and starts (kernel)', ['do_exit', 'do_group_exit', 'kernel_clone', '__x64_sys_exit_group']],
];

const OTHER_KERNEL = 'other kernel work (page faults, timers, syscalls)';
const OTHER_USER = 'other user space (node: JavaScript, V8, libuv; PostgreSQL: protocol, memory, locks)';

export interface PerfProfile {
  readonly samples: number;
  /** Shares of the group's samples, 0..1, largest first. */
  readonly byActivity: Readonly<Record<string, number>>;
}

interface Sample {
  readonly pid: number;
  /** Leaf first: each frame's symbol, and whether it is the kernel's. */
  readonly frames: readonly { symbol: string; kernel: boolean }[];
}

/** `perf script -F pid,ip,sym,dso`: a line with the pid, then a frame per line ("addr symbol (dso)"), a blank line between. */
function* samples(script: string): Generator<Sample> {
  for (const block of script.split('\n\n')) {
    const [header, ...lines] = block.split('\n').filter(Boolean);
    if (!header) continue;
    const frames = lines.map((line) => ({
      symbol: /^\s*[0-9a-f]+\s+([^\s(]+)/.exec(line)?.[1] ?? '',
      kernel: line.endsWith('([kernel.kallsyms])'),
    }));
    yield { pid: Number(header.trim()), frames };
  }
}

function activity(sample: Sample): string {
  for (const frame of sample.frames) {
    const found = ACTIVITIES.find(([, names]) => names.includes(frame.symbol));
    if (found) return found[0];
  }
  return sample.frames[0]?.kernel ? OTHER_KERNEL : OTHER_USER;
}

/** The recording's samples by group of processes (e.g. gantry's workers, PostgreSQL's backends). */
export async function analysePerf<Group extends string>(
  data: string,
  groups: Readonly<Record<Group, readonly number[]>>,
): Promise<Record<Group, PerfProfile>> {
  const { stdout } = await run('perf', ['script', '--no-inline', '-i', data, '-F', 'pid,ip,sym,dso'], { maxBuffer: 1 << 30 });
  const groupOf = new Map(
    (Object.entries(groups) as [Group, readonly number[]][]).flatMap(([group, pids]) => pids.map((pid) => [pid, group] as const)),
  );
  const counts = new Map<Group, Record<string, number>>();
  for (const sample of samples(stdout)) {
    const group = groupOf.get(sample.pid);
    if (!group) continue;
    const byActivity = counts.get(group) ?? {};
    const doing = activity(sample);
    byActivity[doing] = (byActivity[doing] ?? 0) + 1;
    counts.set(group, byActivity);
  }
  return Object.fromEntries(
    (Object.keys(groups) as Group[]).map((group) => {
      const byActivity = counts.get(group) ?? {};
      const total = Object.values(byActivity).reduce((sum, n) => sum + n, 0);
      const shares = Object.entries(byActivity)
        .sort((a, b) => b[1] - a[1])
        .map(([name, n]) => [name, n / Math.max(total, 1)] as const);
      return [group, { samples: total, byActivity: Object.fromEntries(shares) }];
    }),
  ) as Record<Group, PerfProfile>;
}
