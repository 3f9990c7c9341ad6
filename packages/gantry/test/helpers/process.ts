/**
 * Driving real gantry processes from tests: spawn, watch the output, send signals, and always clean up
 * (every process started is killed after its test, whatever happened).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { withTimeLimit } from '../../src/time-limit.js';

export const GANTRY_BIN = fileURLToPath(new URL('../../bin/gantry.js', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const running = new Set<Running>();

export class Running {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  stdout = '';
  stderr = '';

  constructor(command: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd: string }) {
    // Its own process group, so that cleaning up reaches its children (workers, nginx) too.
    this.child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    running.add(this);
    void this.exited.then(() => running.delete(this));
  }

  get output(): string {
    return this.stdout + this.stderr;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Resolves with the first match of `pattern` in the output (stdout + stderr), as soon as it appears. */
  waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.child.stdout?.off('data', check);
        this.child.stderr?.off('data', check);
        this.child.off('exit', onExit);
      };
      const check = () => {
        const match = pattern.exec(this.output);
        if (!match) return false;
        cleanup();
        resolve(match);
        return true;
      };
      const onExit = () =>
        // Output can still be in the pipes when 'exit' fires: look once more after it drains.
        setTimeout(() => {
          if (check()) return;
          cleanup();
          reject(new Error(`process exited before printing ${pattern}:\n${this.output}`));
        }, 50);
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${pattern}:\n${this.output}`));
      }, timeoutMs);
      // Our own 'data' listeners were added first, so the output is appended before these run.
      this.child.stdout?.on('data', check);
      this.child.stderr?.on('data', check);
      this.child.on('exit', onExit);
      if (check()) return;
      if (this.child.exitCode !== null || this.child.signalCode !== null) onExit();
    });
  }

  /** Every match of a global pattern in the output so far. */
  matches(pattern: RegExp): RegExpMatchArray[] {
    return [...this.output.matchAll(pattern)];
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Waits for the exit, failing the test if it takes longer than `timeoutMs`. */
  exit(timeoutMs = 20_000): Promise<Exit> {
    return withTimeLimit(this.exited, timeoutMs, () => {
      throw new Error(`process did not exit within ${timeoutMs} ms:\n${this.output}`);
    });
  }
}

/** The environment a test process gets: the runner's, minus anything gantry or the app would read. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('GANTRY_') || ['APP_ENV', 'MSG', 'DB_CONNECTION_STRING', 'DB_PASSWORD', 'FORCE_COLOR'].includes(name))
      continue;
    env[name] = value;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

export function gantry(
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): Running {
  return new Running(process.execPath, [GANTRY_BIN, ...args], { env: cleanEnv(options.env), cwd: options.cwd ?? REPO_ROOT });
}

/** Kills whatever a test left running, so one failure cannot hang the suite or leak into the next test. */
export function cleanUpProcesses(): void {
  afterEach(async () => {
    const left = [...running];
    for (const proc of left) {
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        proc.child.kill('SIGKILL');
      }
    }
    await Promise.all(left.map((proc) => proc.exited));
  });
}

export { freePort } from '../../../../test/support/free-port.js';
