/**
 * Reading V8 CPU profiles (node --cpu-prof): where a server's processes spent their CPU, by layer (the
 * app, Fastify, Kysely, node-postgres, gantry, Node.js itself, native code, GC) and by function.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../servers.js';

/** Where a frame is, shown from the checkout (no machine's path in the results). */
const CHECKOUT = pathToFileURL(ROOT).href;

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

/** The .cpuprofile format (Chrome DevTools' Profile). */
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  /** Microseconds before each sample. */
  readonly timeDeltas: readonly number[];
}

export type Layer =
  | 'the app'
  | 'Fastify'
  | 'Kysely'
  | 'node-postgres'
  | 'gantry'
  | 'other packages'
  | 'Node.js (JS: http, net, streams, promises)'
  | typeof NATIVE
  | 'garbage collection';

export const NATIVE = 'native (libuv, syscalls, llhttp, V8 runtime)';

/** Packages by the layer they belong to; the rest of node_modules is "other packages". */
const PACKAGE_LAYERS: Readonly<Record<string, Layer>> = {
  pg: 'node-postgres',
  'pg-pool': 'node-postgres',
  'pg-protocol': 'node-postgres',
  'pg-types': 'node-postgres',
  'postgres-array': 'node-postgres',
  'postgres-date': 'node-postgres',
  kysely: 'Kysely',
  fastify: 'Fastify',
  'find-my-way': 'Fastify',
  avvio: 'Fastify',
  'fast-json-stringify': 'Fastify',
  'fast-querystring': 'Fastify',
  'light-my-request': 'Fastify',
  'secure-json-parse': 'Fastify',
  'toad-cache': 'Fastify',
  'abstract-logging': 'Fastify',
  'process-warning': 'Fastify',
  '@fastify/error': 'Fastify',
  '@fastify/fast-json-stringify-compiler': 'Fastify',
  '@fastify/ajv-compiler': 'Fastify',
};

/** A frame's own layer, or undefined for Node.js's JavaScript and native frames (charged to their caller's layer). */
function packageLayer(frame: CallFrame): Layer | undefined {
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(frame.url);
  if (modules) return PACKAGE_LAYERS[modules[1] ?? ''] ?? 'other packages';
  if (frame.url.includes('/packages/gantry/')) return 'gantry';
  if (frame.url.startsWith('file://')) return 'the app';
  return undefined;
}

function ownLayer(frame: CallFrame): Layer {
  if (frame.functionName === '(garbage collector)') return 'garbage collection';
  if (frame.url.startsWith('node:')) return 'Node.js (JS: http, net, streams, promises)';
  return packageLayer(frame) ?? NATIVE;
}

export interface FunctionTime {
  readonly name: string;
  readonly where: string;
  readonly layer: Layer;
  readonly ms: number;
}

export interface ProcessProfile {
  /** Busy CPU time sampled (everything but idle), ms. */
  readonly busyMs: number;
  /** By the innermost package on the stack: Node.js's own work is charged to the package that asked for it. */
  readonly byLayer: Partial<Record<Layer, number>>;
  /** Self time, the most expensive functions first. */
  readonly functions: readonly FunctionTime[];
}

/** One profile's busy time by layer and by function. */
export function analyse(profile: CpuProfile): ProcessProfile {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, index) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));

  const byLayer: Partial<Record<Layer, number>> = {};
  const functions = new Map<string, FunctionTime>();
  let busyMs = 0;
  for (const [id, micros] of selfMicros) {
    const frame = nodes.get(id)?.callFrame;
    if (!frame || frame.functionName === '(idle)' || frame.functionName === '(root)') continue;
    const ms = micros / 1000;
    busyMs += ms;
    const layer = chargedLayer(id, nodes, parents);
    byLayer[layer] = (byLayer[layer] ?? 0) + ms;
    const where = frame.url ? `${frame.url.replace(/^.*node_modules\//, '').replace(CHECKOUT, '')}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName}@${where}`;
    const known = functions.get(key);
    functions.set(key, { name: frame.functionName || '(anonymous)', where, layer: ownLayer(frame), ms: (known?.ms ?? 0) + ms });
  }
  return { busyMs, byLayer, functions: [...functions.values()].sort((a, b) => b.ms - a.ms) };
}

/** The layer a sample is charged to: native or GC; else its own frame's package, else the nearest package above it, else Node.js. */
function chargedLayer(id: number, nodes: ReadonlyMap<number, ProfileNode>, parents: ReadonlyMap<number, number>): Layer {
  const frame = nodes.get(id)?.callFrame;
  if (!frame) return NATIVE;
  // Native frames (syscalls such as writev, V8's builtins, GC) are their own layer: V8 samples a thread
  // preempted inside a syscall there, so whoever called them, they hold time off the CPU too.
  if (frame.url === '') return ownLayer(frame);
  for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
    const above = nodes.get(at)?.callFrame;
    const layer = above && packageLayer(above);
    if (layer) return layer;
  }
  return ownLayer(frame);
}

/** The profiles in `dir` (node --cpu-prof writes one per thread, named CPU.DATE.TIME.PID.THREAD.N), merged by process. */
export async function analyseDirectory(dir: string): Promise<Map<number, ProcessProfile>> {
  const byProcess = new Map<number, ProcessProfile[]>();
  for (const file of (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'))) {
    const pid = Number(file.split('.')[3]);
    const profile = analyse(JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile);
    byProcess.set(pid, [...(byProcess.get(pid) ?? []), profile]);
  }
  return new Map([...byProcess].map(([pid, profiles]) => [pid, merge(profiles)]));
}

export function merge(profiles: readonly ProcessProfile[]): ProcessProfile {
  const byLayer: Partial<Record<Layer, number>> = {};
  const functions = new Map<string, FunctionTime>();
  for (const profile of profiles) {
    for (const [layer, ms] of Object.entries(profile.byLayer) as [Layer, number][]) byLayer[layer] = (byLayer[layer] ?? 0) + ms;
    for (const fn of profile.functions) {
      const key = `${fn.name}@${fn.where}`;
      functions.set(key, { ...fn, ms: (functions.get(key)?.ms ?? 0) + fn.ms });
    }
  }
  return {
    busyMs: profiles.reduce((sum, p) => sum + p.busyMs, 0),
    byLayer,
    functions: [...functions.values()].sort((a, b) => b.ms - a.ms),
  };
}
