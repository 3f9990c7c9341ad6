/**
 * The long reload test: `gantry stack` (nginx's keep-alive upstream pool in front of gantry with two
 * workers), 20 SIGHUPs, one every 3 s, under two POST loads at once: wrk on 64 connections, and bursts
 * of 48 concurrent POSTs about every second, which leave pooled upstream connections idle between
 * bursts (the case that lost POSTs: a draining worker closing an "idle" pooled connection just as nginx
 * sends on it). nginx retries a failed GET on another connection but never a POST, so such a close shows
 * up as a 502: there must be none, and nginx must log no upstream error.
 * `npm run test:soak` (run by .ci/run); needs wrk (apt-get install wrk).
 */
import { execFile } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { parseWrk } from '../../bench/wrk.js';
import { FIXTURES, REPO_ROOT, cleanUpProcesses } from '../../packages/gantry/test/helpers/process.js';
import { describeWith, onPath, requirement } from '../../packages/gantry/test/helpers/requirements.js';
import { nginx, startStack } from '../../packages/gantry/test/helpers/stack.js';

cleanUpProcesses();

const run = promisify(execFile);
const RELOADS = 20;
const EVERY_MS = 3000;

const wrk = requirement(await onPath('wrk'), 'wrk (apt-get install wrk)');

/** Bursts of `size` concurrent keep-alive POSTs, about a second apart, until `until`; counts the answers. */
async function bursts(url: string, size: number, until: number): Promise<{ ok: number; failed: Record<string, number> }> {
  const agent = new Agent({ keepAlive: true, maxSockets: size });
  const failed: Record<string, number> = {};
  let ok = 0;
  const post = () =>
    new Promise<void>((resolve) => {
      const req = request(
        url,
        { method: 'POST', agent, headers: { 'content-type': 'text/plain', 'content-length': 7 } },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) ok++;
            else failed[String(res.statusCode)] = (failed[String(res.statusCode)] ?? 0) + 1;
            resolve();
          });
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        failed[error.code ?? 'error'] = (failed[error.code ?? 'error'] ?? 0) + 1;
        resolve();
      });
      req.end('payload');
    });
  while (Date.now() < until) {
    await Promise.all(Array.from({ length: size }, post));
    await new Promise((resolve) => setTimeout(resolve, 900 + Math.random() * 250));
  }
  agent.destroy();
  return { ok, failed };
}

describeWith(nginx, 'reloads under POST load through nginx', () => {
  describeWith(wrk, 'with wrk', () => {
    it(`loses no POST over ${RELOADS} reloads`, { timeout: 180_000 }, async () => {
      const stack = await startStack([
        '--static',
        `/static/=${join(FIXTURES, 'static')}`,
        '--workers',
        '2',
        join(FIXTURES, 'apps/node-app.mjs'),
      ]);
      const seconds = Math.ceil(((RELOADS + 1) * EVERY_MS) / 1000);
      const load = run(
        'wrk',
        ['-t1', '-c64', `-d${seconds}s`, '--latency', '-s', join(REPO_ROOT, 'bench/post.lua'), `${stack.edge}/`],
        {
          timeout: (seconds + 30) * 1000,
        },
      );
      const bursty = bursts(`${stack.edge}/`, 48, Date.now() + RELOADS * EVERY_MS);
      for (let reload = 1; reload <= RELOADS; reload++) {
        await new Promise((resolve) => setTimeout(resolve, EVERY_MS));
        stack.proc.signal('SIGHUP');
      }
      const { stdout } = await load;
      const result = parseWrk(stdout);
      const burst = await bursty;
      const reloads = stack.proc.matches(/reload complete/g).length;
      process.stdout.write(
        `${reloads} reloads completed; wrk: ${result.requests} POSTs, ${result.failures} failed, p99 ${result.p99Ms} ms; ` +
          `bursts: ${burst.ok} POSTs answered 200, failed ${JSON.stringify(burst.failed)}\n`,
      );
      expect(burst.failed).toEqual({});
      expect(burst.ok).toBeGreaterThan(500);
      expect(reloads).toBeGreaterThanOrEqual(RELOADS - 1);
      expect(result.requests).toBeGreaterThan(10_000);
      expect({ failures: result.failures, output: stdout.match(/Non-2xx.*|Socket errors.*/g) ?? [] }).toEqual({
        failures: 0,
        output: [],
      });
      expect(stack.proc.output).not.toMatch(/upstream|recv\(\) failed/);
    });
  });
});
