/**
 * A server left running by a stack that died (SIGKILL cannot be caught) still holds its port or its
 * data: found by the pid file it wrote, and stopped only if its command line shows it is this run
 * directory's (a pid can have been reused by anything since).
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from '../logger.js';

export interface Leftover {
  /** The server's pid file: the pid on its first line. */
  readonly pidFile: string;
  /** Text its command line must contain to be ours (its config file, its data directory). */
  readonly marker: string;
  /** What it is, for the log: `an nginx from an earlier stack in DIR`. */
  readonly description: string;
  /** Its graceful stop, then what follows if it is still there after `waitMs`. */
  readonly stop: NodeJS.Signals;
  readonly force: NodeJS.Signals;
  readonly waitMs: number;
}

/** Whether a process of that pid exists (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function stopLeftover(
  { pidFile, marker, description, stop, force, waitMs }: Leftover,
  logger: Logger,
): Promise<void> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).split('\n')[0]?.trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!commandLine.includes(marker)) return;
  logger.warn(`${description} is still running (pid ${pid}): stopping it`);
  process.kill(pid, stop);
  for (let waited = 0; alive(pid) && waited < waitMs; waited += 100) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, force);
}
