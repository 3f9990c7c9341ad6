/**
 * The guestbook's live updates on a real PostgreSQL: a message posted on one worker reaches the
 * WebSockets and event streams of every worker (LISTEN/NOTIFY), an event stream resumes from
 * Last-Event-ID, the feed survives a database restart, and an oversized client message closes with 1009.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanUpProcesses } from '../../../packages/gantry/test/helpers/process.js';
import { type TestPostgres, startTestPostgres } from '../../../test/support/postgres.js';
import { type TestSocket, openEventStream, openSocket } from '../../../test/support/websocket-client.js';
import { json, migratedDatabase, postJson, serveApp } from '../support/app.js';

cleanUpProcesses();

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(() => postgres?.destroy());

interface Message {
  readonly id: number;
  readonly body: string;
}

/** Opens `count` feeds, until both workers have some (each says which it is). */
async function feedsOnEveryWorker(url: string, count: number): Promise<TestSocket[]> {
  const sockets: TestSocket[] = [];
  const workers = new Set<number>();
  while (sockets.length < count || workers.size < 2) {
    const socket = await openSocket(`${url.replace('http:', 'ws:')}/ws`);
    const welcome = JSON.parse(await socket.message(/"welcome"/)) as { worker: number };
    workers.add(welcome.worker);
    sockets.push(socket);
  }
  return sockets;
}

const post = async (url: string, body: string) => json<Message>(await postJson(`${url}/api/messages`, { author: 'live', body }));

describe('live updates', () => {
  it('pushes a message posted on one worker to the WebSockets and event streams of every worker', async () => {
    const { url } = await serveApp(await migratedDatabase(postgres));
    const sockets = await feedsOnEveryWorker(url, 8);
    const streams = await Promise.all([1, 2, 3, 4].map(() => openEventStream(`${url}/api/messages/stream`)));

    const posted = performance.now();
    const message = await post(url, 'hello, everyone');
    const arrivals = await Promise.all([
      ...sockets.map(async (socket) => {
        const pushed = JSON.parse(await socket.message(/"hello, everyone"/)) as { message: Message };
        expect(pushed).toEqual({ type: 'message', message });
        return performance.now() - posted;
      }),
      ...streams.map(async (stream) => {
        const [event] = await stream.received(1);
        expect(event).toMatchObject({ id: String(message.id), event: 'message' });
        expect(JSON.parse(event!.data)).toEqual(message);
        return (event?.at ?? 0) - posted;
      }),
    ]);
    process.stdout.write(
      `live feed: a message reached ${arrivals.length} clients on 2 workers in ${Math.round(Math.max(...arrivals))} ms at most\n`,
    );
    expect(Math.max(...arrivals)).toBeLessThan(1000);
    for (const socket of sockets) socket.socket.close(1000);
    for (const stream of streams) stream.close();
  });

  it('resumes an event stream after Last-Event-ID: the missed messages first, in order, then live ones', async () => {
    const { url } = await serveApp(await migratedDatabase(postgres));
    const [first, second, third] = [await post(url, 'one'), await post(url, 'two'), await post(url, 'three')];
    const stream = await openEventStream(`${url}/api/messages/stream`, { 'last-event-id': String(first.id) });
    await stream.received(2);
    const fourth = await post(url, 'four');
    const events = await stream.received(3);
    expect(events.map((event) => Number(event.id))).toEqual([second.id, third.id, fourth.id]);
    stream.close();
  });

  it('keeps pushing after PostgreSQL restarts: the feed reconnects by itself', async () => {
    const database = await migratedDatabase(postgres);
    const { url, proc } = await serveApp(database);
    const [socket] = await feedsOnEveryWorker(url, 2);
    await postgres.stop();
    await postgres.start();
    // Both workers' listeners are back (each reconnects on its own backoff; the socket is on either).
    await proc.waitFor(/listening for live updates again[\s\S]*listening for live updates again/, 30_000);
    await post(url, 'after the restart');
    await socket!.message(/"after the restart"/);
  });

  it('closes a WebSocket whose client sends a message over the size limit with 1009', async () => {
    const { url } = await serveApp(await migratedDatabase(postgres));
    const [socket] = await feedsOnEveryWorker(url, 1);
    socket!.socket.send('x'.repeat(5000));
    expect((await socket!.closed).code).toBe(1009);
  });
});
