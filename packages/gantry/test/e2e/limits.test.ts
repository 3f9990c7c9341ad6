/** Bad input gets a 4xx and a close; the app is not called; the worker lives on. */
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

const appCalls = async () => (await readFile(calls, 'utf8')).split('\n').filter(Boolean).length;

describe('request limits and framing', () => {
  const cases: [string, number, string][] = [
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
    ['a bad chunk size', 400, 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'],
    [
      'a forbidden trailer',
      400,
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nHost: evil\r\n\r\n',
    ],
    ['a CONNECT tunnel request', 405, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'],
  ];

  it.each(cases)('%s: %i and a close, without calling the app', async (_, status, bytes) => {
    const { port } = await serve();
    const result = await exchange(port, bytes);
    expect(result.statuses).toEqual([status]);
    expect(result.response).toMatch(/\r\nConnection: close\r\n/i);
    expect(result.closed).toBe(true);
    expect(await appCalls()).toBe(0);
    // The worker is fine.
    expect((await request(`http://127.0.0.1:${port}/after`)).status).toBe(200);
  });

  it('cuts a streamed body off at limit-request-body with 413', async () => {
    const { port } = await serve(['--limit-request-body', '1000']);
    const chunk = `400\r\n${'x'.repeat(1024)}\r\n`;
    const result = await exchange(
      port,
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}${chunk}0\r\n\r\n`,
    );
    expect(result.statuses).toEqual([413]);
    expect(await appCalls()).toBe(0);
  });

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
      ['serve', '--workers', '1', '--bind', `127.0.0.1:${port}`, '--limit-request-body', '10', 'apps/fetch-app.mjs'],
      { cwd: FIXTURES },
    );
    await proc.waitFor(/listening at/);
    const result = await exchange(
      port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n01234567890123456789\r\n0\r\n\r\n',
    );
    expect(result.statuses).toEqual([413]);
    await new Promise((resolve) => setTimeout(resolve, 300));
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
