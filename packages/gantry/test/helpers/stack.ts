/** Starting `gantry stack` (real nginx + real gantry) on free loopback ports, for end-to-end tests. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNginx } from '../../src/stack/nginx.js';
import { type Running, freePort, gantry } from './process.js';
import { requirement } from './requirements.js';

export interface Stack {
  readonly proc: Running;
  readonly edge: string;
  readonly direct: string;
  readonly runDir: string;
}

/** nginx is a prerequisite of the stack tests; CI installs it, so there a missing nginx fails instead of skipping. */
export const nginx = requirement((await findNginx('nginx')) !== undefined, 'nginx (apt-get install nginx)');

export interface StackPlace {
  readonly runDir?: string;
  readonly nginxPort?: number;
  readonly appPort?: number;
}

/** `gantry stack` on free loopback ports (or `place`'s), started but not yet up. */
export async function launchStack(
  args: readonly string[],
  env: Record<string, string> = {},
  place: StackPlace = {},
): Promise<Stack> {
  const nginxPort = place.nginxPort ?? (await freePort());
  const appPort = place.appPort ?? (await freePort());
  const runDir = place.runDir ?? (await mkdtemp(join(tmpdir(), 'gantry-stack-')));
  const proc = gantry(['stack', '--nginx-port', String(nginxPort), '--app-port', String(appPort), '--run-dir', runDir, ...args], {
    env,
  });
  return { proc, edge: `http://127.0.0.1:${nginxPort}`, direct: `http://127.0.0.1:${appPort}`, runDir };
}

/** `gantry stack` as launchStack starts it, once it says it is up. */
export async function startStack(
  args: readonly string[],
  env: Record<string, string> = {},
  place: StackPlace = {},
): Promise<Stack> {
  const stack = await launchStack(args, env, place);
  await stack.proc.waitFor(/the stack is up/);
  return stack;
}
