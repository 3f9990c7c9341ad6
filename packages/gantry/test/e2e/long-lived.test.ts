/**
 * WebSockets and event streams under gantry, on real sockets: upgrades reach the app's WebSocket library
 * (ws) through gantry's checks, are counted apart from requests, and a drain closes them with 1001
 * "going away", spread out, within long-lived-timeout rather than graceful-timeout.
 */
import { connect } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { type TestSocket, openEventStream, openSocket } from '../../../../test/support/websocket-client.js';
import { request } from '../helpers/http.js';
import { parsePrometheus, total } from '../helpers/prometheus-text.js';
import { FIXTURES, type Running, cleanUpProcesses, freePort, gantry } from '../helpers/process.js';
import { exchange } from '../helpers/raw.js';
import { describeWith } from '../helpers/requirements.js';
import { nginx, startStack } from '../helpers/stack.js';

cleanUpProcesses();

const APP = `${FIXTURES}apps/websocket-app.mjs`;

interface Served {
  readonly proc: Running;
  readonly port: number;
  readonly primary: number;
  readonly metrics: () => Promise<ReturnType<typeof parsePrometheus>>;
}

async function serve(args: readonly string[] = [], env: Record<string, string> = {}): Promise<Served> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const proc = gantry(['serve', '--bind', `127.0.0.1:${port}`, '--metrics-bind', `127.0.0.1:${metricsPort}`, ...args, APP], {
    env,
  });
  const [, primary] = await proc.waitFor(/primary pid (\d+)/);
  await proc.waitFor(/listening at/);
  const metrics = async () => parsePrometheus((await request(`http://127.0.0.1:${metricsPort}/metrics`)).body);
  return { proc, port, primary: Number(primary), metrics };
}

const handshake = (headers: string) =>
  `GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${headers}\r\n`;

/** The pid in a socket's greeting: which worker it reached. */
async function workerOf(client: TestSocket): Promise<number> {
  return Number((await client.message(/^hello \d+$/)).slice('hello '.length));
}

describe('WebSockets under gantry', () => {
  it('upgrades through gantry to the app, echoes, and counts open sockets apart from requests', async () => {
    const { port, metrics, proc } = await serve(['--workers', '1', '--access-log', '-']);
    const client = await openSocket(`ws://127.0.0.1:${port}/ws`);
    await workerOf(client);
    client.socket.send('ping 1');
    await client.message(/^ping 1$/);

    await vi.waitFor(
      async () => {
        const samples = await metrics();
        expect(total(samples, 'gantry_long_lived_connections', { kind: 'websocket' })).toBe(1);
        expect(total(samples, 'gantry_http_requests_in_flight')).toBe(0);
      },
      { timeout: 10_000 },
    );
    client.socket.close(1000, 'done');
    expect(await client.closed).toMatchObject({ code: 1000, wasClean: true });
    // The access log's line for it, once it closed: the app's 101.
    await proc.waitFor(/"GET \/ws HTTP\/1\.1" 101 /);
    await vi.waitFor(async () => expect(total(await metrics(), 'gantry_long_lived_connections')).toBe(0), { timeout: 10_000 });
  });

  it('answers a bad handshake itself (400, 426) and never calls the app', async () => {
    const { port, metrics } = await serve(['--workers', '1']);
    const noKey = await exchange(port, handshake('Sec-WebSocket-Version: 13\r\n'));
    expect(noKey.statuses).toEqual([400]);
    const badKey = await exchange(port, handshake('Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: not-a-key\r\n'));
    expect(badKey.statuses).toEqual([400]);
    const oldVersion = await exchange(
      port,
      handshake('Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'),
    );
    expect(oldVersion.statuses).toEqual([426]);
    expect(oldVersion.response).toMatch(/\r\nSec-WebSocket-Version: 13\r\n/i);
    // The same handshake with a valid key is the app's: it switches protocols.
    const valid = await exchange(
      port,
      handshake('Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'),
      {
        halfClose: false,
        timeoutMs: 500,
      },
    );
    expect(valid.statuses).toEqual([101]);
    expect(total(await metrics(), 'gantry_long_lived_refused_total', { reason: 'handshake' })).toBe(3);
  });

  it('refuses upgrades and event streams past max-long-lived with 503', async () => {
    const { port, metrics } = await serve(['--workers', '1', '--max-long-lived', '2']);
    const open = [await openSocket(`ws://127.0.0.1:${port}/ws`), await openEventStream(`http://127.0.0.1:${port}/events`)];
    const third = await exchange(port, handshake('Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'));
    expect(third.statuses).toEqual([503]);
    expect((await request(`http://127.0.0.1:${port}/events`, { headers: { accept: 'text/event-stream' } })).status).toBe(503);
    // An ordinary request is no long-lived connection: still served.
    expect((await request(`http://127.0.0.1:${port}/`)).status).toBe(200);
    expect(total(await metrics(), 'gantry_long_lived_refused_total', { reason: 'limit' })).toBe(2);
    (open[0] as TestSocket).socket.close();
  });

  it('drops a client that stops reading once its unsent bytes pass max-send-buffer', async () => {
    const { port, metrics } = await serve(['--workers', '1', '--max-send-buffer', String(1024 * 1024)]);
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(handshake('Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'));
    await new Promise((resolve) => socket.once('data', resolve));
    // A masked text frame "flood" (mask 0: the payload as is), then no more reading.
    socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | 5, 0, 0, 0, 0]), Buffer.from('flood')]));
    socket.pause();
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await vi.waitFor(
      async () => {
        expect(total(await metrics(), 'gantry_long_lived_dropped_total', { reason: 'slow_reader' })).toBe(1);
      },
      { timeout: 15_000, interval: 200 },
    );
    socket.resume();
    await closed;
  });
});

describe('draining long-lived connections', () => {
  it('SIGHUP: 200 WebSockets each get 1001 going away, spread out, and reconnect to the new workers', async () => {
    const { port, proc, primary } = await serve(['--workers', '2', '--long-lived-timeout', '5']);
    const url = `ws://127.0.0.1:${port}/ws`;
    const clients: TestSocket[] = [];
    for (let i = 0; i < 200; i++) clients.push(await openSocket(url));
    const oldWorkers = new Set(await Promise.all(clients.map(workerOf)));
    expect(oldWorkers.size).toBe(2);

    const hupAt = performance.now();
    process.kill(primary, 'SIGHUP');
    const closes = await Promise.all(clients.map((client) => client.closed));
    expect(closes.map(({ code }) => code)).toEqual(closes.map(() => 1001));
    expect(closes.every(({ wasClean, reason }) => wasClean && reason === 'going away')).toBe(true);
    const after = closes.map(({ at }) => at - hupAt).sort((a, b) => a - b);
    const spreadMs = (after.at(-1) ?? 0) - (after[0] ?? 0);
    process.stdout.write(
      `SIGHUP with 200 WebSockets: closed ${Math.round(after[0] ?? 0)}-${Math.round(after.at(-1) ?? 0)} ms after the signal\n`,
    );
    // Spread over the first 40% of the 5 s, not all at once.
    expect(spreadMs).toBeGreaterThan(500);

    const reconnected = await Promise.all(clients.map(async () => workerOf(await openSocket(url))));
    expect(reconnected.some((pid) => oldWorkers.has(pid))).toBe(false);
    await proc.waitFor(/reload complete/);
  });

  it('SIGTERM with open WebSockets and event streams exits within long-lived-timeout, not graceful-timeout', async () => {
    const { port, proc, primary } = await serve(['--workers', '2', '--graceful-timeout', '30', '--long-lived-timeout', '2']);
    const sockets = await Promise.all(Array.from({ length: 10 }, () => openSocket(`ws://127.0.0.1:${port}/ws`)));
    const streams = await Promise.all(Array.from({ length: 10 }, () => openEventStream(`http://127.0.0.1:${port}/events`)));
    await Promise.all(streams.map((stream) => stream.received(2)));

    const termAt = performance.now();
    process.kill(primary, 'SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    const seconds = (performance.now() - termAt) / 1000;
    process.stdout.write(
      `SIGTERM with 10 WebSockets and 10 event streams open: exited in ${seconds.toFixed(2)} s (long-lived-timeout 2 s)\n`,
    );
    expect(seconds).toBeLessThan(2 + 2);
    expect((await Promise.all(sockets.map((socket) => socket.closed))).map(({ code }) => code)).toEqual(sockets.map(() => 1001));
    // Each stream was ended, not cut: a clean end its client reconnects after.
    expect(await Promise.all(streams.map((stream) => stream.ended))).toEqual(streams.map(() => true));
    expect(proc.output).not.toMatch(/long-lived timeout: cut/);
  });

  it('leaves WebSockets to an app that closes them itself when told (gantry/app onDrain)', async () => {
    const { port, primary, proc } = await serve(['--workers', '1'], { FIXTURE_APP_CLOSES: '1' });
    const clients = await Promise.all(Array.from({ length: 5 }, () => openSocket(`ws://127.0.0.1:${port}/ws`)));
    process.kill(primary, 'SIGTERM');
    const closes = await Promise.all(clients.map((client) => client.closed));
    expect(closes.map(({ code, reason }) => `${code} ${reason}`)).toEqual(clients.map(() => '4001 app says bye'));
    expect(await proc.exited).toEqual({ code: 0, signal: null });
  });
});

/** When each chunk of a response's body arrived, ms after the request. */
async function chunkTimes(url: string): Promise<number[]> {
  const started = performance.now();
  const response = await fetch(url);
  const times: number[] = [];
  const reader = response.body?.getReader();
  while (reader && !(await reader.read()).done) times.push(performance.now() - started);
  return times;
}

describeWith(nginx, 'through nginx (the template)', () => {
  it('passes WebSocket handshakes on, and keeps ordinary requests on pooled connections', async () => {
    const stack = await startStack(['--workers', '2', APP]);
    const edge = stack.edge.replace('http:', 'ws:');
    const clients = await Promise.all(Array.from({ length: 8 }, () => openSocket(`${edge}/ws`)));
    expect(new Set(await Promise.all(clients.map(workerOf))).size).toBe(2);
    clients[0]?.socket.send('through nginx');
    await clients[0]?.message(/^through nginx$/);
    // Ordinary requests still go over nginx's keep-alive pool: five in a row reuse its connections.
    const ports = new Set<string>();
    for (let i = 0; i < 5; i++) ports.add((await request(`${stack.edge}/port`)).body);
    expect(ports.size).toBeLessThan(5);
    for (const client of clients) client.socket.close(1000);
  });

  it('streams events as they are sent, and Last-Event-ID resumes after a reload without a gap', async () => {
    const stack = await startStack(['--workers', '2', APP]);
    const stream = await openEventStream(`${stack.edge}/events`);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await stream.received(11);
    const gaps = events.slice(1).map((event, i) => event.at - (events[i] as { at: number }).at);
    process.stdout.write(
      `event stream through nginx: gaps ${gaps.map((gap) => gap.toFixed(0)).join(', ')} ms (sent 100 ms apart)\n`,
    );
    // Sent 100 ms apart: each arrives on its own (buffered, they would come in bursts).
    expect(Math.max(...gaps)).toBeLessThan(100 + 50);
    expect(Math.min(...gaps)).toBeGreaterThan(100 - 50);

    const [, primary] = await stack.proc.waitFor(/primary pid (\d+)/);
    process.kill(Number(primary), 'SIGHUP');
    expect(await stream.ended).toBe(true);
    const last = Number(stream.events.at(-1)?.id);
    const resumed = await openEventStream(`${stack.edge}/events`, { 'last-event-id': String(last) });
    const [next] = await resumed.received(1);
    expect(Number(next?.id)).toBe(last + 1);
    resumed.close();
  });

  it('passes a chunked response on as it is written when the app sends X-Accel-Buffering: no', async () => {
    const stack = await startStack(['--workers', '1', APP]);
    const buffered = await chunkTimes(`${stack.edge}/stream`);
    const unbuffered = await chunkTimes(`${stack.edge}/stream?unbuffered`);
    process.stdout.write(
      `a chunked text/plain through nginx: first bytes ${buffered[0]?.toFixed(0)} ms buffered, ${unbuffered[0]?.toFixed(0)} ms with X-Accel-Buffering: no\n`,
    );
    expect(unbuffered.length).toBeGreaterThanOrEqual(5);
    // The first line arrives long before the last one is sent (1.5 s in), gzip or not.
    expect(unbuffered[0]).toBeLessThan(1000);
  });
});
