/**
 * Socket.IO under gantry, configured as README says: WebSocket transport, the PostgreSQL adapter for
 * broadcasts across processes. Six clients on two workers, and on two replicas, each get every message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Socket, io } from 'socket.io-client';
import { type TestPostgres, startTestPostgres } from '../../../../test/support/postgres.js';
import { request } from '../helpers/http.js';
import { FIXTURES, cleanUpProcesses, freePort, gantry } from '../helpers/process.js';

cleanUpProcesses();

const APP = `${FIXTURES}apps/socket-io-app.mjs`;
/** The adapter's table for payloads over NOTIFY's 8000 bytes (its README's schema). */
const ATTACHMENTS_TABLE =
  'CREATE TABLE socket_io_attachments (id bigserial UNIQUE, created_at timestamptz DEFAULT now(), payload bytea)';

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(() => postgres?.destroy());

async function serveChat(databaseUrl: string): Promise<string> {
  const port = await freePort();
  const proc = gantry(['serve', '--bind', `127.0.0.1:${port}`, '--workers', '2', APP], { env: { DATABASE_URL: databaseUrl } });
  await proc.waitFor(/listening at/);
  return `http://127.0.0.1:${port}`;
}

/** A client, once the server has welcomed it (with its worker's pid). */
async function join(url: string): Promise<{ client: Socket; worker: number; chat: string[] }> {
  const client = io(url, { transports: ['websocket'], reconnection: false });
  const chat: string[] = [];
  client.on('chat', (text: string) => chat.push(text));
  const worker = await new Promise<number>((resolve, reject) => {
    client.once('welcome', resolve);
    client.once('connect_error', reject);
  });
  return { client, worker, chat };
}

/**
 * Waits until every worker of every server hears all `count` of them over the adapter (each LISTENs
 * once its database connection is up): a broadcast before that would not reach a worker still connecting.
 */
async function untilAllConnected(urls: readonly string[], count: number): Promise<void> {
  const answers = async () =>
    Promise.all(urls.flatMap((url) => [1, 2, 3, 4].map(async () => (await request(`${url}/servers`)).body)));
  await expect
    .poll(answers, { timeout: 20_000, interval: 250 })
    .toEqual(urls.flatMap(() => [1, 2, 3, 4].map(() => String(count))));
}

/** Each client says one line; resolves once every client has heard all of them. */
async function chatRound(clients: Awaited<ReturnType<typeof join>>[]): Promise<void> {
  clients.forEach(({ client }, i) => client.emit('chat', `line ${i}`));
  const lines = clients.map((_, i) => `line ${i}`).sort();
  await expect.poll(() => clients.map(({ chat }) => [...chat].sort()), { timeout: 10_000 }).toEqual(clients.map(() => lines));
}

describe('Socket.IO under gantry', () => {
  it('broadcasts to 6 clients on 2 workers', async () => {
    const database = await postgres.freshDatabase();
    await postgres.query(ATTACHMENTS_TABLE, [], database);
    const url = await serveChat(database);
    await untilAllConnected([url], 2);
    const clients = await Promise.all([0, 1, 2, 3, 4, 5].map(() => join(url)));
    expect(new Set(clients.map(({ worker }) => worker)).size).toBe(2);
    await chatRound(clients);
    for (const { client } of clients) client.close();
  });

  it('broadcasts to 6 clients on 2 replicas of 2 workers each', async () => {
    const database = await postgres.freshDatabase();
    await postgres.query(ATTACHMENTS_TABLE, [], database);
    const replicas = [await serveChat(database), await serveChat(database)];
    await untilAllConnected(replicas, 4);
    const clients = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => join(replicas[i % 2] as string)));
    expect(new Set(clients.map(({ worker }) => worker)).size).toBeGreaterThanOrEqual(3);
    await chatRound(clients);
    for (const { client } of clients) client.close();
  });
});
