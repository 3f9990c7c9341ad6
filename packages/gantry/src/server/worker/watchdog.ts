/**
 * A worker's watchdog thread. It watches the clock the worker's event loop beats on the in-flight board;
 * when the clock has stood still for `timeout`, it logs what the worker was serving, once per stall.
 * (The primary, which also stops receiving heartbeats, kills and replaces the worker a moment later.)
 * It runs in a worker thread (with its own event loop) so that it still runs when the main thread is stuck.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { workerData } from 'node:worker_threads';
import type { Logger } from '../../logger.js';
import { InFlightBoard } from '../http/in-flight-board.js';
import type { LogFormat, LogLevel } from '../../logger.js';

export interface WatchdogData {
  readonly buffer: SharedArrayBuffer;
  readonly timeoutMs: number;
  readonly workerId: number;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
}

const CHECK_MS = 100;

const data = workerData as WatchdogData;
const board = new InFlightBoard(data.buffer);
let reportedBeat = 0;
// The logger (pino, a few MiB in every worker) is loaded only once the loop has been still for half the
// timeout, so that it is ready, well before the primary kills the worker, in the rare stall.
let log: Logger | undefined;

for (;;) {
  await sleep(CHECK_MS);
  const beat = board.lastBeat;
  const now = Date.now();
  if (beat === 0 || beat === reportedBeat || now - beat < data.timeoutMs / 2) continue;
  if (!log) {
    const { createLogger } = await import('../../logger.js');
    log = createLogger({ level: data.logLevel, format: data.logFormat, role: 'worker', workerId: data.workerId });
  }
  if (now - beat < data.timeoutMs) continue;
  reportedBeat = beat;
  const { requests, overflow } = board.read();
  const serving = requests.map(({ request, startedAt }) => `${request} (${((now - startedAt) / 1000).toFixed(1)} s)`);
  if (overflow > 0) serving.push(`and ${overflow} more`);
  const message = `event loop stuck for ${((now - beat) / 1000).toFixed(1)} s; serving: ${serving.length > 0 ? serving.join(', ') : 'no request'}`;
  // The fields are for JSON logs; a text line already says it all.
  if (data.logFormat === 'json') log.error({ stuckForMs: now - beat, serving }, message);
  else log.error(message);
}
