/** workers: auto — the CPUs a cgroup's quota allows, read from cgroup files laid out as the kernel does. */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpuBudget } from '../../src/server/cpu-budget.js';

async function cgroupV2(cpuMax: Record<string, string>, membership = '0::/kubepods/pod1/ctr\n') {
  const root = await mkdtemp(join(tmpdir(), 'gantry-cgroup-'));
  for (const [dir, value] of Object.entries(cpuMax)) {
    await mkdir(join(root, dir), { recursive: true });
    await writeFile(join(root, dir, 'cpu.max'), `${value}\n`);
  }
  const file = join(root, 'self-cgroup');
  await writeFile(file, membership);
  return { root, membership: file };
}

describe('cpuBudget (workers: auto)', () => {
  it("takes a container's cgroup v2 quota: 200000/100000 is 2 CPUs, a fraction rounds down", async () => {
    const places = await cgroupV2({ 'kubepods/pod1/ctr': '200000 100000', 'kubepods/pod1': 'max 100000' });
    expect(cpuBudget(places).cpus).toBe(Math.min(2, availableParallelism()));
    const half = await cgroupV2({ 'kubepods/pod1/ctr': '150000 100000' });
    expect(cpuBudget(half).cpus).toBe(1);
    expect(cpuBudget(half).source).toMatch(/the CPU quota, 1\.5 CPUs \(.*cpu\.max\)/);
  });

  it('takes the smallest quota on the way up to the root (a pod limit above a container without one)', async () => {
    const places = await cgroupV2({ 'kubepods/pod1/ctr': 'max 100000', 'kubepods/pod1': '100000 100000' });
    expect(cpuBudget(places).cpus).toBe(1);
  });

  it("falls back to the machine's CPUs without a quota, or without cgroup files at all", async () => {
    const unlimited = await cgroupV2({ 'kubepods/pod1/ctr': 'max 100000' });
    expect(cpuBudget(unlimited)).toEqual({ cpus: availableParallelism(), source: `${availableParallelism()} CPUs available` });
    expect(cpuBudget({ root: '/nonexistent', membership: '/nonexistent' }).cpus).toBe(availableParallelism());
  });
});
