/** The worker's end of the IPC channel (messages.ts): sending to the primary, without ever throwing. */
import type { WorkerMessage } from '../messages.js';

/** Resolves once the message is handed over, or at once when there is no primary to hear it. */
export function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}
