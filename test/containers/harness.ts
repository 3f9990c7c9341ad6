/**
 * Runs the repository's real Dockerfiles and docker-compose.yml for the container test, on a Docker
 * engine or, where there is none (CI), on podman with the kit in ../shared/containers. Everything
 * podman-specific lives here, not in the artifacts:
 * - setup-podman.sh (podman, runc, netavark, docker-compose v1 and podman's Docker-compatible API) and
 *   build-standin-images.sh (node:24-bookworm-slim and nginx:1.28 stand-ins, built locally);
 * - BUILDAH_FORMAT=docker, or podman builds OCI images, which drop HEALTHCHECK;
 * - healthcheck-driver.sh, since podman schedules healthchecks with systemd timers and there is no systemd;
 * - docker-compose v1 over podman's API rather than podman-compose 1.0.3, which ignores
 *   `depends_on: condition: service_healthy` and has no per-network `ipv4_address`;
 * - `down` between configurations: podman's API reports an IPAM option compose did not set, so a second
 *   `up` on the same project believes the network changed and stops;
 * - stale address allocations podman left behind, dropped between runs (dropStaleAllocations).
 * COMPOSE overrides the compose command (e.g. COMPOSE="docker compose" on a Docker engine).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../packages/gantry/test/helpers/process.js';

const exec = promisify(execFile);
const KIT = join(REPO_ROOT, '../shared/containers');
const PODMAN_SOCKET = 'unix:///run/podman/podman.sock';

export const PROJECT = 'gantrytest';

export interface Engine {
  readonly kind: 'docker' | 'podman';
  /** The compose command and its fixed arguments. */
  readonly compose: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Stops what the harness started (the healthcheck driver). */
  close(): void;
}

async function dockerEngine(): Promise<boolean> {
  if (process.env.DOCKER_HOST === PODMAN_SOCKET) return false;
  try {
    const { stdout } = await exec('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 10_000 });
    return stdout.trim() !== '';
  } catch {
    return false;
  }
}

async function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 600_000,
  cwd = REPO_ROOT,
): Promise<string> {
  const { stdout, stderr } = await exec(command, [...args], { cwd, env, timeout: timeoutMs, maxBuffer: 64 << 20 });
  return stdout + stderr;
}

export async function startEngine(): Promise<Engine> {
  const composeOverride = process.env.COMPOSE?.split(' ').filter(Boolean);
  if (await dockerEngine()) {
    const compose = composeOverride ?? ['docker', 'compose'];
    return { kind: 'docker', compose: [...compose, '-p', PROJECT], env: { ...process.env }, close: () => {} };
  }
  if (!existsSync(KIT)) throw new Error(`no Docker engine, and no container kit at ${KIT}`);
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: PODMAN_SOCKET, BUILDAH_FORMAT: 'docker' };
  // From /: the API service it starts outlives this run, and must not keep a checkout as its working
  // directory (one removed under it makes every container start fail: conmon cannot get its cwd).
  await run('bash', [join(KIT, 'setup-podman.sh')], { ...env, WITH_DOCKER_COMPOSE: '1', SERVICE: '1' }, 600_000, '/');
  await run('bash', [join(KIT, 'build-standin-images.sh')], env);
  const driver: ChildProcess = spawn('bash', [join(KIT, 'healthcheck-driver.sh')], {
    env: { ...env, INTERVAL: '1' },
    stdio: 'ignore',
  });
  const compose = composeOverride ?? ['docker-compose'];
  return { kind: 'podman', compose: [...compose, '-p', PROJECT], env, close: () => driver.kill() };
}

export async function compose(engine: Engine, args: readonly string[], extraEnv: Record<string, string> = {}): Promise<string> {
  const [command = 'docker-compose', ...fixed] = engine.compose;
  return run(command, [...fixed, ...args], { ...engine.env, ...extraEnv });
}

/** `docker` CLI commands (inspect, exec) against the same engine (podman's API in podman mode). */
export async function docker(engine: Engine, args: readonly string[]): Promise<string> {
  return (await run('docker', args, engine.env, 60_000)).trim();
}

export async function containers(engine: Engine, service: string, files: readonly string[] = []): Promise<string[]> {
  const out = await compose(engine, [...files.flatMap((f) => ['-f', f]), 'ps', '-q', service]);
  return out
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^[0-9a-f]{12,}$/.test(line));
}

/** Resolves once every container reports `healthy`, or rejects with their states at the deadline. */
export async function waitHealthy(engine: Engine, ids: readonly string[], timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(ids.map((id) => docker(engine, ['inspect', '--format', '{{.State.Health.Status}}', id])));
    if (states.every((state) => state === 'healthy')) return;
    if (Date.now() > deadline) throw new Error(`containers not healthy: ${states.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * Removes the project's containers and networks, whatever state the test left them in. With the base
 * compose file only: an overlay may need variables (a secret's file) that are not set any more, and the
 * services, hence the containers, are the same.
 */
export async function tearDown(engine: Engine): Promise<void> {
  await compose(engine, ['down', '--volumes', '--remove-orphans']).catch((error: Error) =>
    process.stderr.write(`compose down failed: ${error.message}\n`),
  );
  if (engine.kind === 'podman') {
    // A container podman has not finished removing still holds its fixed address in the network's IPAM
    // ("requested ip address ... is already allocated" on the next up): remove what is left, by force.
    const left = await run('podman', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${PROJECT}`], engine.env).catch(
      () => '',
    );
    for (const id of left.split('\n').filter(Boolean)) await run('podman', ['rm', '-f', id], engine.env).catch(() => '');
    const networks = await run(
      'podman',
      ['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`],
      engine.env,
    ).catch(() => '');
    for (const network of networks.split('\n').filter(Boolean))
      await run('podman', ['network', 'rm', '-f', network], engine.env).catch(() => '');
    await dropStaleAllocations(engine);
  }
}

/** podman's IPAM database (netavark backend), kept in /run until the machine reboots. */
const IPAM_DB = '/run/containers/networks/ipam.db';

/**
 * podman 4.3 can leave a removed container's address allocated in its IPAM database (podman issues
 * 15708, 21194), and a network of the same name made again inherits it: nginx's fixed address is then
 * "already allocated" to a container that no longer exists, on a machine that ran the test before.
 * With no container left at all, no allocation can be live, so the database is dropped (podman makes it
 * anew); while other containers run, it is left alone.
 */
async function dropStaleAllocations(engine: Engine): Promise<void> {
  const all = await run('podman', ['ps', '-aq'], engine.env).catch(() => 'unknown');
  if (all.trim() === '') await rm(IPAM_DB, { force: true });
}
