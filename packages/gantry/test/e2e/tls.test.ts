/**
 * The edge's HTTPS and HTTP/2 (gantry stack --tls): a self-signed certificate made for localhost,
 * HTTP/2 with curl and h2load, plain HTTP redirected, HSTS, and WebSockets over wss through it.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import WebSocket from 'ws';
import { FIXTURES, cleanUpProcesses, freePort, gantry } from '../helpers/process.js';
import { describeWith, onPath, requirement } from '../helpers/requirements.js';
import { startStack } from '../helpers/stack.js';
import { findNginx } from '../../src/stack/nginx.js';

cleanUpProcesses();

const run = promisify(execFile);
const tools = requirement(
  (await findNginx('nginx')) !== undefined && (await onPath('curl')) && (await onPath('h2load')) && (await onPath('openssl')),
  'nginx, curl, h2load and openssl (apt-get install nginx curl nghttp2-client openssl)',
);

const APP = `${FIXTURES}apps/websocket-app.mjs`;

describeWith(tools, 'HTTPS and HTTP/2 at the edge', () => {
  it('serves HTTP/2 over TLS (curl, h2load), redirects plain HTTP, sends HSTS, and carries WebSockets', async () => {
    const stack = await startStack(['--tls', '--workers', '2', APP]);
    const edge = stack.edge.replace('http:', 'https:');
    const certificate = join(stack.runDir, 'tls', 'localhost.crt');
    await stack.proc.waitFor(/https:\/\/127\.0\.0\.1:\d+\/ {2}nginx/);

    const curl = await run('curl', [
      '-sS',
      '--http2',
      '--cacert',
      certificate,
      '-D',
      '-',
      '-o',
      '/dev/null',
      '-w',
      '%{http_version}',
      `${edge}/`,
    ]);
    expect(curl.stdout).toMatch(/^HTTP\/2 200/);
    expect(curl.stdout).toMatch(/\r\nstrict-transport-security: max-age=0\r\n/);
    expect(curl.stdout.trimEnd().endsWith('2')).toBe(true);

    const h2load = await run('h2load', ['-n', '1000', '-c', '10', `${edge}/`]);
    expect(h2load.stdout).toMatch(/requests: 1000 total, 1000 started, 1000 done, 1000 succeeded, 0 failed, 0 errored/);
    expect(h2load.stdout).toMatch(/status codes: 1000 2xx/);
    const rate = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(h2load.stdout)?.[1];
    process.stdout.write(`h2load -n 1000 -c 10 through the TLS edge: ${rate} req/s, all 1000 succeeded\n`);

    // Plain HTTP on the HTTPS port: a redirect to the same address over HTTPS.
    const plain = await fetch(`${stack.edge}/some/page?x=1`, { redirect: 'manual' });
    expect(plain.status).toBe(301);
    expect(plain.headers.get('location')).toBe(`${edge}/some/page?x=1`);

    const socket = new WebSocket(`${edge.replace('https:', 'wss:')}/ws`, { ca: await readFile(certificate) });
    const greeting = await new Promise<string>((resolve, reject) => {
      socket.once('message', (data: Buffer) => resolve(String(data)));
      socket.once('error', reject);
    });
    expect(greeting).toMatch(/^hello \d+$/);
    socket.close();
  });

  it('refuses a certificate without its key, before starting anything', async () => {
    const proc = gantry(['stack', '--tls', '--tls-certificate', '/etc/hostname', '--nginx-port', String(await freePort()), APP]);
    const exit = await proc.exited;
    expect(exit.code).toBe(2);
    expect(proc.output).toMatch(/GANTRY_ERR_TLS|Give both tls-certificate and tls-key/);
    expect(proc.output).not.toMatch(/\n\s+at /);
  });
});
