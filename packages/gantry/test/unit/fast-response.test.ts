import { afterEach, describe, expect, it } from 'vitest';
import { FastResponse, responseParts } from '../../src/server/app/fast-response.js';
import { fetchHandler } from '../../src/server/app/fetch.js';
import { type Reply, request } from '../helpers/http.js';
import { type InProcessServer, serveInProcess } from '../helpers/in-process.js';

let server: InProcessServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

type Make = (body?: ConstructorParameters<typeof Response>[0], init?: ResponseInit) => Response;

/** Serves `respond(make)` for each request, `make` being undici's Response or FastResponse (?fast). */
async function serve(respond: (make: Make) => Response): Promise<string> {
  const handle = fetchHandler({
    fetch: (req) => {
      const fast = new URL(req.url).searchParams.has('fast');
      return respond(fast ? (body, init) => new FastResponse(body, init) : (body, init) => new Response(body, init));
    },
  });
  // A failure inside the adapter rejects, and the unhandled rejection fails the test.
  server = await serveInProcess((req, res) => void handle(req, res, 'http'));
  return server.url;
}

/** What a client sees, without what differs by time or framing. */
function wire(reply: Reply): object {
  const headers = { ...reply.headers };
  for (const name of ['date', 'connection', 'keep-alive']) delete headers[name];
  return { status: reply.status, headers, body: reply.body };
}

async function bothWays(respond: (make: Make) => Response, method = 'GET'): Promise<[object, object]> {
  const url = await serve(respond);
  const undici = wire(await request(`${url}/`, { method }));
  const fast = wire(await request(`${url}/?fast`, { method }));
  return [fast, undici];
}

describe('FastResponse on the wire', () => {
  const cases: [string, (make: Make) => Response][] = [
    ['a string, no init', (make) => make('hello')],
    [
      'a string with a status and its own content type',
      (make) => make('{}', { status: 201, headers: { 'Content-Type': 'application/json' } }),
    ],
    ['a multi-byte string', (make) => make('héllo wörld ✓')],
    ['an empty string', (make) => make('')],
    [
      'bytes with header pairs and two cookies',
      (make) =>
        make(new Uint8Array([104, 105]), {
          headers: [
            ['x-a', '1'],
            ['set-cookie', 'a=1'],
            ['set-cookie', 'b=2'],
          ],
        }),
    ],
    ['a Headers object', (make) => make('x', { headers: new Headers({ 'X-B': '2', 'cache-control': 'no-store' }) })],
    ['no body', (make) => make(null, { status: 204 })],
    ['no arguments', (make) => make()],
    ['a 404', (make) => make('not found', { status: 404 })],
    ['a number header value', (make) => make('x', { headers: { 'x-count': 3 as unknown as string } })],
  ];
  for (const [name, respond] of cases) {
    it(`answers exactly as undici's Response does: ${name}`, async () => {
      const [fast, undici] = await bothWays(respond);
      expect(fast).toEqual(undici);
    });
  }

  it("answers a HEAD request exactly as undici's Response does", async () => {
    const [fast, undici] = await bothWays((make) => make('hello'), 'HEAD');
    expect(fast).toEqual(undici);
  });

  it('sends what the app changed after reading members that need undici (headers)', async () => {
    const [fast, undici] = await bothWays((make) => {
      const response = make('late');
      response.headers.set('x-late', 'yes');
      return response;
    });
    expect(fast).toEqual(undici);
    expect(fast).toMatchObject({ headers: { 'x-late': 'yes' }, body: 'late' });
  });

  it('streams a ReadableStream body (through undici)', async () => {
    const [fast, undici] = await bothWays((make) =>
      make(new Blob(['a blob']).stream(), { headers: { 'content-type': 'text/plain' } }),
    );
    expect(fast).toEqual(undici);
    expect(fast).toMatchObject({ body: 'a blob' });
  });
});

describe('FastResponse as a Response', () => {
  it("keeps its arguments until a member needs undici's Response", async () => {
    const response = new FastResponse('hi', { status: 202 });
    expect([response.status, response.ok, response.statusText]).toEqual([202, true, '']);
    expect(responseParts(response)).toEqual({ status: 202, headers: undefined, body: 'hi' });
    expect(response.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
    expect(responseParts(response)).toBeUndefined();
    expect(await response.text()).toBe('hi');
    expect(response.bodyUsed).toBe(true);
  });

  it('is a Response, as undici Responses are one of its kind', () => {
    const fast = new FastResponse('x');
    expect(fast).toBeInstanceOf(Response);
    expect(Response.json(null)).toBeInstanceOf(FastResponse);
    expect({}).not.toBeInstanceOf(FastResponse);
    expect(Object.prototype.toString.call(fast)).toBe('[object Response]');
    expect(FastResponse.name).toBe('Response');
  });

  it('keeps instanceof exact for subclasses', () => {
    class Custom extends FastResponse {}
    expect(new Custom('x')).toBeInstanceOf(Custom);
    expect(new Custom('x')).toBeInstanceOf(FastResponse);
    expect(new FastResponse('x')).not.toBeInstanceOf(Custom);
  });

  it("throws undici's errors for what undici refuses", () => {
    expect(() => new FastResponse('x', { status: 99 })).toThrow(RangeError);
    expect(() => new FastResponse('x', { status: 204 })).toThrow(TypeError);
    expect(() => new FastResponse('x', { statusText: 'bad\r\n' })).toThrow(TypeError);
  });

  it("hands anything else to undici at once, and reads all of undici's members", async () => {
    const streamed = new FastResponse(new Blob(['blob']).stream());
    expect(responseParts(streamed)).toBeUndefined();
    expect(await streamed.text()).toBe('blob');
    const copy = new FastResponse('body', new FastResponse(null, { status: 201, headers: { 'x-a': '1' } }));
    expect([copy.status, copy.headers.get('x-a')]).toEqual([201, '1']);
    const clone = new FastResponse('twice').clone();
    expect(await clone.text()).toBe('twice');
    expect(await new FastResponse(new Uint8Array([1, 2])).arrayBuffer()).toEqual(new Uint8Array([1, 2]).buffer);
    expect(FastResponse.redirect('http://example.com/', 302).headers.get('location')).toBe('http://example.com/');
  });
});
