/** One request at a time, each on a new connection (as a curl loop does): how many were answered, how many failed and how. */
import { request } from 'node:http';

export interface SequentialResult {
  readonly answered: number;
  /** Failed requests by kind: an error code (ECONNREFUSED, ECONNRESET), "timeout", or a non-2xx status. */
  readonly failed: Readonly<Record<string, number>>;
  readonly failures: number;
}

export async function sequential(url: string, count: number): Promise<SequentialResult> {
  const failed: Record<string, number> = {};
  let answered = 0;
  for (let i = 0; i < count; i++) {
    const outcome = await new Promise<string>((resolve) => {
      const req = request(url, { agent: false, timeout: 2000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode !== undefined && res.statusCode < 300 ? 'ok' : String(res.statusCode)));
      });
      req.on('timeout', () => {
        req.destroy();
        resolve('timeout');
      });
      req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      req.end();
    });
    if (outcome === 'ok') answered++;
    else failed[outcome] = (failed[outcome] ?? 0) + 1;
  }
  return { answered, failed, failures: count - answered };
}
