/**
 * How many CPUs this process may use, for `workers: auto`: the CPU quota of its cgroup when it has one
 * (a container's or a Kubernetes pod's `limits.cpu`: cgroup v2's cpu.max, or v1's cfs_quota_us), else
 * the CPUs the kernel lets it run on (os.availableParallelism). A pod with a 2-CPU limit on a 64-core
 * node gets 2 workers, not 64: Node.js's own count is the node's.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';

export interface CpuBudget {
  /** Whole CPUs, at least 1. */
  readonly cpus: number;
  /** Where the figure comes from, for the start-up log line. */
  readonly source: string;
}

export interface CgroupPlaces {
  /** The cgroup filesystem's mount point (default /sys/fs/cgroup). */
  readonly root?: string;
  /** This process's cgroup membership (default /proc/self/cgroup). */
  readonly membership?: string;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** cgroup v2: the smallest cpu.max quota from this process's cgroup up to the root, in CPUs. */
function cgroupV2Quota(root: string, membership: string): { cpus: number; file: string } | undefined {
  const path = /^0::(\/.*)$/m.exec(read(membership) ?? '')?.[1];
  if (path === undefined) return undefined;
  let found: { cpus: number; file: string } | undefined;
  for (let dir = join(root, path); dir.startsWith(root); dir = dirname(dir)) {
    const file = join(dir, 'cpu.max');
    const [quota, period] = (read(file) ?? '').split(/\s+/);
    const cpus = Number(quota) / Number(period);
    if (quota !== 'max' && Number.isFinite(cpus) && cpus > 0 && (found === undefined || cpus < found.cpus))
      found = { cpus, file };
    if (dir === root) break;
  }
  return found;
}

/** cgroup v1: cpu.cfs_quota_us / cpu.cfs_period_us (-1: no quota). */
function cgroupV1Quota(root: string): { cpus: number; file: string } | undefined {
  for (const controller of ['cpu', 'cpu,cpuacct']) {
    const file = join(root, controller, 'cpu.cfs_quota_us');
    const quota = Number(read(file));
    const period = Number(read(join(root, controller, 'cpu.cfs_period_us')));
    if (quota > 0 && period > 0) return { cpus: quota / period, file };
  }
  return undefined;
}

export function cpuBudget(places: CgroupPlaces = {}): CpuBudget {
  const root = places.root ?? '/sys/fs/cgroup';
  const available = availableParallelism();
  const quota = cgroupV2Quota(root, places.membership ?? '/proc/self/cgroup') ?? cgroupV1Quota(root);
  if (quota === undefined || quota.cpus >= available) return { cpus: available, source: `${available} CPUs available` };
  // A fraction of a CPU more would be one more worker fighting the others for the quota.
  const cpus = Math.max(1, Math.floor(quota.cpus));
  return { cpus, source: `the CPU quota, ${Number(quota.cpus.toFixed(2))} CPUs (${quota.file})` };
}
