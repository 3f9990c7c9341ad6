/**
 * Bad input gets a 4xx and a close, and the worker lives on (the same process answers next). A request
 * refused at its head (request line, headers, declared length) never reaches the app. A streamed body
 * refused on its way (bad chunks, over the limit, a forbidden trailer) reaches the app as a stream that
 * fails: node calls the app once the head is in, before the body; gantry answers the 4xx, the app's read
 * of the body fails, and nothing the app writes after that reaches the client.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { request } from '../helpers/http.js';
import { FIXTURES, type Running, cleanUpProcesses, freePort, gantry } from '../helpers/process.js';
import { exchange } from '../helpers/raw.js';

cleanUpProcesses();

let calls: string;
beforeAll(async () => {
  calls = join(await mkdtemp(join(tmpdir(), 'gantry-limits-')), 'calls.jsonl');
});
beforeEach(async () => writeFile(calls, ''));

async function serve(args: readonly string[] = []): Promise<{ proc: Running; port: number }> {
  const port = await freePort();
  const proc = gantry(['serve', '--workers', '1', '--bind', `127.0.0.1:${port}`, ...args, 'apps/echo-app.mjs'], {
    cwd: FIXTURES,
    env: { CALLS_FILE: calls },
  });
  await proc.waitFor(/listening at/);
  return { proc, port };
}

interface AppEvent {
  readonly seq: number;
  readonly event: 'called' | 'read' | 'body-failed';
  readonly url: string;
  readonly error?: string;
}

/** What the echo app recorded: one event per line. */
const appEvents = async () =>
  (await readFile(calls, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AppEvent);

/**
 * Stops the server and checks that its one worker, `pid`, lived until it was told to stop: it neither
 * crashed nor was replaced, not even a moment after the bad request.
 */
async function expectSameWorkerToTheEnd(proc: Running, pid: number): Promise<void> {
  proc.signal('SIGTERM');
  expect(await proc.exit()).toEqual({ code: 0, signal: null });
  const exits = proc.matches(/worker \d+ \(pid \d+\) (?:exited|was killed)[^\n]*/g).map(([line]) => line);
  expect(exits).toEqual([`worker 1 (pid ${pid}) exited with code 0: stopped`]);
}

/** The pid of the worker that answers (the echo app says it). */
async function workerPid(port: number): Promise<number> {
  const reply = await request(`http://127.0.0.1:${port}/pid`);
  return (JSON.parse(reply.body) as { pid: number }).pid;
}

describe('request limits and framing', () => {
  const refusedAtTheHead: [string, number, string][] = [
    ['a request line over limit-request-line', 414, `GET /${'a'.repeat(5000)} HTTP/1.1\r\nHost: x\r\n\r\n`],
    ['more header fields than limit-request-fields', 431, `GET / HTTP/1.1\r\nHost: x\r\n${'X-A: 1\r\n'.repeat(101)}\r\n`],
    ['a header field over limit-request-field-size', 431, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(9000)}\r\n\r\n`],
    ['a header block over 64 KiB', 431, `GET / HTTP/1.1\r\nHost: x\r\n${`X-B: ${'c'.repeat(8000)}\r\n`.repeat(9)}\r\n`],
    ['a declared body over limit-request-body', 413, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\n\r\n'],
    ['two Host headers', 400, 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
    ['two Content-Type headers', 400, 'GET / HTTP/1.1\r\nHost: a\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n\r\n'],
    ['Transfer-Encoding in HTTP/1.0', 400, 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['HTTP/2.0 in an HTTP/1 request line', 400, 'GET / HTTP/2.0\r\n\r\n'],
    ['the * target with GET', 400, 'GET * HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a target that is no URL', 400, 'PUT s://]ufd/: HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['HTTP/1.1 without Host', 400, 'GET / HTTP/1.1\r\n\r\n'],
    [
      'Content-Length with Transfer-Encoding',
      400,
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    ['a CONNECT tunnel request', 405, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'],
  ];

  it.each(refusedAtTheHead)('%s: %i and a close, without calling the app', async (_, status, bytes) => {
    const { proc, port } = await serve();
    const pid = await workerPid(port);
    await writeFile(calls, '');
    const result = await exchange(port, bytes);
    expect(result.statuses).toEqual([status]);
    expect(result.response).toMatch(/\r\nConnection: close\r\n/i);
    expect(result.closed).toBe(true);
    // The same worker answers next: it neither crashed nor was replaced. It serves in order, so by its
    // answer any call of the app for the refused request would have been recorded.
    expect(await workerPid(port)).toBe(pid);
    expect((await appEvents()).filter((e) => e.url !== '/pid')).toEqual([]);
    await expectSameWorkerToTheEnd(proc, pid);
  });

  const refusedMidBody: [string, number, string, readonly string[]][] = [
    ['a bad chunk size', 400, 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', []],
    [
      'a forbidden trailer',
      400,
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nHost: evil\r\n\r\n',
      [],
    ],
    [
      'a streamed body over limit-request-body',
      413,
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${`400\r\n${'x'.repeat(1024)}\r\n`.repeat(2)}0\r\n\r\n`,
      ['--limit-request-body', '1000'],
    ],
  ];

  it.each(refusedMidBody)(
    '%s: %i and a close; the app, called before the body, sees its read fail and cannot answer',
    async (_, status, bytes, args) => {
      const { proc, port } = await serve(args);
      const pid = await workerPid(port);
      await writeFile(calls, '');
      const result = await exchange(port, bytes);
      // Exactly gantry's answer on the wire: the app's attempt to answer after it never arrives.
      expect(result.statuses).toEqual([status]);
      expect(result.response).not.toContain('written by the app');
      expect(result.closed).toBe(true);
      expect(await workerPid(port)).toBe(pid);
      // The app's own record of the failed read may come a moment after the 4xx.
      const ofTheRequest = async () => (await appEvents()).filter((e) => e.url !== '/pid').map((e) => e.event);
      await expect.poll(ofTheRequest).toEqual(['called', 'body-failed']);
      expect(proc.output).not.toMatch(/ERROR/);
      await expectSameWorkerToTheEnd(proc, pid);
    },
  );

  it('answers a slow client (slowloris) with 408 at header-timeout, and keeps serving others meanwhile', async () => {
    const { port } = await serve(['--header-timeout', '1', '--request-timeout', '2']);
    const slow = exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n', {
      halfClose: false,
      chunks: 20,
      pauseMs: 200,
      timeoutMs: 10_000,
    });
    expect((await request(`http://127.0.0.1:${port}/meanwhile`)).status).toBe(200);
    const result = await slow;
    expect(result.statuses).toEqual([408]);
    expect(result.closed).toBe(true);
  });

  it('closes, without splicing a 408 into it, a response the app began before the request timed out', async () => {
    const port = await freePort();
    const proc = gantry(
      [
        'serve',
        '--workers',
        '1',
        '--bind',
        `127.0.0.1:${port}`,
        '--header-timeout',
        '1',
        '--request-timeout',
        '1',
        'apps/node-app.mjs',
      ],
      {
        cwd: FIXTURES,
      },
    );
    await proc.waitFor(/listening at/);
    const result = await exchange(port, 'POST /upload-progress HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a part', {
      halfClose: false,
      timeoutMs: 8000,
    });
    expect(result.response).toContain('started');
    expect(result.response).not.toContain('408');
    expect(result.closed).toBe(true);
  });

  it('logs nothing at error level when a fetch app reads a body gantry refuses', async () => {
    const port = await freePort();
    const proc = gantry(
      [
        'serve',
        '--workers',
        '1',
        '--bind',
        `127.0.0.1:${port}`,
        '--limit-request-body',
        '10',
        '--log-level',
        'debug',
        'apps/fetch-app.mjs',
      ],
      { cwd: FIXTURES },
    );
    await proc.waitFor(/listening at/);
    const result = await exchange(
      port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n01234567890123456789\r\n0\r\n\r\n',
    );
    expect(result.statuses).toEqual([413]);
    // The app's failed read is logged, at debug: after that line, no error line can come for it.
    await proc.waitFor(/the request was aborted while the app handled it/);
    expect(proc.output).not.toMatch(/ERROR/);
  });

  it('accepts HTTP/1.1 without Host when told to (--no-require-host-header)', async () => {
    const { port } = await serve(['--no-require-host-header']);
    expect((await exchange(port, 'GET /hostless HTTP/1.1\r\n\r\n')).statuses).toEqual([200]);
  });

  it('refuses request-timeout below header-timeout before starting', async () => {
    const proc = gantry(['serve', '--header-timeout', '30', '--request-timeout', '10', 'apps/echo-app.mjs'], { cwd: FIXTURES });
    expect((await proc.exit()).code).toBe(2);
    expect(proc.stderr).toContain('requestTimeout (10 s) must be at least headerTimeout (30 s)');
  });
});
