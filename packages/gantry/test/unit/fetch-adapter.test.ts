import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerResponse } from 'node:http';
import { type FetchApp, fetchHandler } from '../../src/server/app/fetch.js';
import { answerAndClose } from '../../src/server/http/answers.js';
import { FIXTURES } from '../helpers/process.js';
import { request } from '../helpers/http.js';
import { type InProcessServer, serveInProcess } from '../helpers/in-process.js';

let server: InProcessServer | undefined;
const errors: unknown[] = [];

afterEach(async () => {
  await server?.close();
  server = undefined;
  errors.length = 0;
});

async function serve(app: FetchApp, scheme: 'http' | 'https' = 'http'): Promise<string> {
  const handle = fetchHandler(app);
  // What the server does with a handler's throw or rejection (http.ts): record it and answer 500.
  const failed = (res: ServerResponse) => (error: unknown) => {
    errors.push(error);
    answerAndClose(res, 500, 'Internal Server Error\n');
  };
  server = await serveInProcess((req, res) => {
    try {
      void Promise.resolve(handle(req, res, scheme)).catch(failed(res));
    } catch (error) {
      failed(res)(error);
    }
  });
  return server.url;
}

const fixture = async () => ((await import(`${FIXTURES}apps/fetch-app.mjs`)) as { default: FetchApp }).default;

describe('the fetch adapter', () => {
  it('gives the app a Request with the method, URL, headers and body the client sent', async () => {
    const url = await serve(await fixture());
    const reply = await request(`${url}/echo?x=1`, { method: 'POST', headers: { 'X-Custom': 'yes' }, body: 'payload' });
    const seen = JSON.parse(reply.body) as {
      method: string;
      url: string;
      headers: Record<string, string>;
      body: string;
      isRequest: boolean;
    };
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe(`${url}/echo?x=1`);
    expect(seen.headers['x-custom']).toBe('yes');
    expect(seen.body).toBe('payload');
    expect(seen.isRequest).toBe(true);
    expect(reply.headers['content-type']).toBe('application/json');
  });

  it("builds the URL with gantry's view of the scheme", async () => {
    const url = await serve(await fixture(), 'https');
    const seen = JSON.parse((await request(`${url}/echo`)).body) as { url: string };
    expect(seen.url).toBe(`${url.replace('http:', 'https:')}/echo`);
  });

  it('sends a string body with its Content-Length', async () => {
    const reply = await request(await serve(await fixture()));
    expect(reply.body).toBe('hello from fetch');
    expect(reply.headers['content-length']).toBe('16');
  });

  it('streams a ReadableStream body', async () => {
    const reply = await request(`${await serve(await fixture())}/stream`);
    expect(reply.body).toBe('one two three');
    expect(reply.headers['transfer-encoding']).toBe('chunked');
  });

  it('keeps several Set-Cookie headers apart, and the status', async () => {
    const reply = await request(`${await serve(await fixture())}/cookies`);
    expect(reply.status).toBe(201);
    expect(reply.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it('parses form bodies through a real Request when the app needs one', async () => {
    const reply = await request(`${await serve(await fixture())}/form`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1&b=two',
    });
    expect(JSON.parse(reply.body)).toEqual({ a: '1', b: 'two' });
  });

  it('throws or rejects with the error when the app throws or returns no Response', async () => {
    const url = await serve(await fixture());
    expect((await request(`${url}/throw`)).status).toBe(500);
    expect((await request(`${url}/not-a-response`)).status).toBe(500);
    expect(errors.map((e) => (e as Error).message)).toEqual(['boom in fetch', 'fetch() must return a Response, got string']);
  });

  it('answers 400 to a Host header that cannot be part of a URL, without calling the app', async () => {
    let called = false;
    const url = await serve({
      fetch: () => {
        called = true;
        return new Response('x');
      },
    });
    for (const host of ['bad host/x', '256.256.256.256', 'a%zz', '[::1', 'user@host']) {
      expect((await request(url, { headers: { Host: host } })).status).toBe(400);
    }
    expect(called).toBe(false);
    expect((await request(url, { headers: { Host: 'example.com:8080' } })).status).toBe(200);
  });

  it('aborts the request signal when the client goes away', async () => {
    let aborted: () => void = () => {};
    const abortedPromise = new Promise<void>((resolve) => (aborted = resolve));
    const url = await serve({
      fetch: (req) =>
        new Promise<Response>(() => {
          req.signal.addEventListener('abort', () => aborted());
        }),
    });
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    await abortedPromise;
  });
});
