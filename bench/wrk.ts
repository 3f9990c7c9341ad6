/** Runs wrk (1 thread, keep-alive connections) and reads its summary. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const POST_SCRIPT = fileURLToPath(new URL('./post.lua', import.meta.url));

export interface WrkResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  /** Socket errors (connect, read, write, timeout) plus non-2xx/3xx answers. */
  readonly failures: number;
  /** Socket errors alone. */
  readonly socketErrors: number;
  /** Answers by status, when the script counts them (it prints `status CODE COUNT` lines). */
  readonly statuses: Readonly<Record<number, number>>;
}

function milliseconds(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!match) throw new Error(`unreadable latency "${text}"`);
  const value = Number(match[1]);
  return { us: value / 1000, ms: value, s: value * 1000, m: value * 60_000 }[match[2] as 'us' | 'ms' | 's' | 'm'];
}

export function parseWrk(output: string): WrkResult {
  const number = (pattern: RegExp) => Number(pattern.exec(output)?.[1] ?? 0);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    requestsPerSecond: number(/Requests\/sec:\s+([\d.]+)/),
    p50Ms: milliseconds(/^\s+50%\s+(\S+)$/m.exec(output)?.[1] ?? '0ms'),
    p99Ms: milliseconds(/^\s+99%\s+(\S+)$/m.exec(output)?.[1] ?? '0ms'),
    requests: number(/(\d+) requests in/),
    failures: socketErrors + number(/Non-2xx or 3xx responses: (\d+)/),
    socketErrors,
    statuses: Object.fromEntries([...output.matchAll(/^status (\d+) (\d+)$/gm)].map((m) => [Number(m[1]), Number(m[2])])),
  };
}

export interface WrkOptions {
  readonly seconds: number;
  /** POST a small text body (post.lua). */
  readonly post?: boolean;
  /** Or a wrk Lua script of the caller's. */
  readonly script?: string;
}

export async function wrk(url: string, options: WrkOptions): Promise<WrkResult> {
  const script = options.script ?? (options.post ? POST_SCRIPT : undefined);
  const args = ['-t1', '-c64', `-d${options.seconds}s`, '--latency', ...(script ? ['-s', script] : []), url];
  const { stdout } = await run('wrk', args, { timeout: (options.seconds + 30) * 1000 });
  return parseWrk(stdout);
}
