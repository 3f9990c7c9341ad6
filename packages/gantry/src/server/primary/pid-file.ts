/** The primary's pid file (--pid): written at start, moved when a reload changes the setting, removed at exit. */
import { rm, writeFile } from 'node:fs/promises';
import { ErrorCode, GantryError, describeError } from '../../errors.js';

export async function writePidFile(path: string): Promise<void> {
  try {
    await writeFile(path, `${process.pid}\n`);
  } catch (error) {
    throw new GantryError(ErrorCode.PID_FILE, `Cannot write the pid file ${path}: ${describeError(error)}.`);
  }
}

/** After a reload: the old file goes, the new one is written (a failure there is logged, the server goes on). */
export async function movePidFile(previous: string | null, next: string | null): Promise<void> {
  if (previous) await rm(previous, { force: true });
  if (next) await writePidFile(next);
}

export async function removePidFile(path: string | null): Promise<void> {
  if (path) await rm(path, { force: true });
}
