/**
 * What a serving worker keeps doing for its supervision: the heartbeat (and the in-flight board's
 * clock, for its watchdog thread), the watchdog thread itself, and, with max-worker-memory, a watch on
 * its resident memory. All on unref'd timers: none of them keeps a worker alive.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../logger.js';
import { BEAT_MS, type InFlightBoard } from '../http/in-flight-board.js';
import { HEARTBEAT_MS } from '../messages.js';
import type { ServerSettings } from '../settings.js';
import { send } from './channel.js';
import type { WatchdogData } from './watchdog.js';

/** How often a worker with a memory limit reads its resident set size (a cheap read of /proc/self/statm). */
const MEMORY_CHECK_MS = 1000;

/**
 * Beats the in-flight board's clock (for the watchdog thread) and the primary's heartbeat while the
 * event loop turns. Only with a timeout: nothing reads either without one.
 */
export function startHeartbeat(board: InFlightBoard): void {
  board.beat();
  let sinceHeartbeat = 0;
  const timer = setInterval(() => {
    board.beat();
    sinceHeartbeat += BEAT_MS;
    if (sinceHeartbeat >= HEARTBEAT_MS) {
      sinceHeartbeat = 0;
      void send({ gantry: 'heartbeat' });
    }
  }, BEAT_MS);
  timer.unref();
}

/** The thread that reports what the worker was serving when its event loop got stuck (watchdog.ts). */
export function startWatchdog(board: InFlightBoard, settings: ServerSettings, workerId: number, logger: Logger): void {
  const data: WatchdogData = {
    buffer: board.buffer,
    timeoutMs: settings.timeout * 1000,
    workerId,
    logLevel: settings.logLevel,
    logFormat: settings.logFormat,
  };
  const watchdog = new Worker(new URL('./watchdog.js', import.meta.url), { workerData: data });
  watchdog.on('error', (error) => logger.error({ err: error }, 'the watchdog thread failed'));
  watchdog.unref();
}

/**
 * max-worker-memory: once this worker's RSS passes its limit (drawn by the primary below the setting,
 * so that workers growing alike are not all replaced at once), it asks to be replaced, through the same
 * lossless succession as max-requests; it asks again while it stays over (the primary retries a
 * replacement that failed).
 */
export function watchMemory(limitMiB: number, logger: Logger): void {
  let asked = false;
  const timer = setInterval(() => {
    const rssMiB = process.memoryUsage.rss() / 1024 / 1024;
    if (rssMiB <= limitMiB) return;
    if (!asked) {
      logger.warn(
        `RSS ${rssMiB.toFixed(0)} MiB is over this worker's limit of ${limitMiB} MiB (max-worker-memory): asking to be replaced`,
      );
    }
    asked = true;
    void send({ gantry: 'recycle', reason: 'memory' });
  }, MEMORY_CHECK_MS);
  timer.unref();
}
