/** Proxy trust against real sockets: what an untrusted client can and cannot make the app believe. */
import { connect } from 'node:net';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { request } from '../helpers/http.js';
import { FIXTURES, cleanUpProcesses, freePort, gantry } from '../helpers/process.js';

cleanUpProcesses();

async function serve(app: string, args: readonly string[], env: Record<string, string> = {}) {
  const port = await freePort();
  const proc = gantry(['serve', '--workers', '1', '--bind', `127.0.0.1:${port}`, ...args, app], { cwd: FIXTURES, env });
  await proc.waitFor(/listening at/);
  return { proc, port };
}

describe('proxy trust', () => {
  it("keeps headersDistinct consistent when it strips an untrusted peer's forwarding headers", async () => {
    const { port } = await serve('apps/node-app.mjs', []);
    const reply = await request(`http://127.0.0.1:${port}/distinct`, {
      headers: { 'X-Forwarded-For': '6.6.6.6', 'X-Custom': 'kept' },
      localAddress: '127.0.0.2',
    });
    expect(reply.status).toBe(200);
    const distinct = JSON.parse(reply.body) as Record<string, string[]>;
    expect(distinct['x-custom']).toEqual(['kept']);
    expect(distinct['x-forwarded-for']).toBeUndefined();
  });

  it('never trusts a client that resets the connection right after its request', async () => {
    // Once reset, a socket has no peer address; that must not read as "a unix socket, trusted".
    const calls = join(await mkdtemp(join(tmpdir(), 'gantry-proxy-')), 'calls.jsonl');
    await writeFile(calls, '');
    const { port } = await serve('apps/echo-app.mjs', ['--forwarded-allow-ips', '10.9.9.9'], { CALLS_FILE: calls });
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(
            'POST /forged HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\nContent-Length: 0\r\n\r\n',
          );
          socket.resetAndDestroy();
          resolve();
        });
      });
    }
    // A request after them all on a fresh connection: the worker serves in order, so by its answer
    // every reset request that reached the app has been recorded.
    expect((await request(`http://127.0.0.1:${port}/after`)).status).toBe(200);
    const seen = (await readFile(calls, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { event: string; url: string; rawHeaders?: string[] });
    const forged = seen.filter((event) => event.event === 'read' && event.url === '/forged');
    expect(forged.length).toBeGreaterThan(0);
    for (const event of forged) expect(event.rawHeaders?.join(' ').toLowerCase()).not.toContain('x-forwarded');
  });
});
