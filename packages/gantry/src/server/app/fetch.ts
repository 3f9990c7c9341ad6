/**
 * Serves a WHATWG `{ fetch(request) }` app on node:http (see srvx's NodeRequest and hono's listener).
 *
 * Speed matters here because a fetch app should cost almost the same as a node listener:
 * - the Request is lazy: `method` and `url` are plain strings, `headers` and `signal` are built on first
 *   use, and a real `Request` is made only for members that need one (`body`, `clone()`, `formData()`);
 *   `text()`, `json()` and `arrayBuffer()` read the node stream directly;
 * - a FastResponse (fast-response.ts) that undici never saw is written straight from its arguments;
 * - an undici Response whose body is whole at once (a string, bytes) is written in one `end()` call
 *   with its Content-Length; any other body is streamed with backpressure.
 */
import type { Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { delegateMembers } from './delegate.js';
import { answerAndClose } from '../http/answers.js';
import { type ResponseParts, isResponse, nativeResponse, responseParts } from './fast-response.js';
import type { Scheme } from '../http/proxy.js';

/** The second argument of `fetch`, shaped like @hono/node-server's, so Hono's node helpers work. */
export interface NodeBindings {
  readonly incoming: IncomingMessage;
  readonly outgoing: ServerResponse;
}

export interface FetchApp {
  fetch(request: Request, env: NodeBindings): Response | Promise<Response>;
  /**
   * Upgrade requests (WebSocket), node-style: hand them to a WebSocket library, e.g. ws's
   * `wss.handleUpgrade(req, socket, head, ...)`. Without it, an upgrade reaches `fetch` as a request.
   */
  upgrade?(req: IncomingMessage, socket: Socket, head: Buffer): void;
}

type FetchRequestHandler = (req: IncomingMessage, res: ServerResponse, scheme: Scheme) => Promise<void> | void;

class BadRequest extends Error {}

/**
 * Whether `scheme://host/` is a URL the app can parse (`new URL(request.url)`), for a Host header:
 * WHATWG URL refuses hosts RFC 3986 allows (256.256.256.256, bad punycode). Requests mostly repeat one
 * Host, so the last good one is remembered.
 */
let lastGoodOrigin = '';
function validOrigin(origin: string): boolean {
  if (origin === lastGoodOrigin) return true;
  if (!URL.canParse(origin) || /[/?#@\\\s]/.test(origin.slice(origin.indexOf('//') + 2))) return false;
  lastGoodOrigin = origin;
  return true;
}

/** The key of NodeRequest's "make me a real Request" method, shared with the delegating members below. */
const realRequest = Symbol('gantry.realRequest');

function requestUrl(req: IncomingMessage, scheme: Scheme): string {
  const target = req.url ?? '/';
  if (target.startsWith('/')) {
    const origin = `${scheme}://${req.headers.host ?? 'localhost'}`;
    if (!validOrigin(origin)) throw new BadRequest('Invalid Host header');
    return origin + target;
  }
  if (/^https?:\/\//i.test(target)) return target;
  return new URL(target === '*' ? '/*' : target, `${scheme}://${req.headers.host ?? 'localhost'}`).href;
}

function toHeaders(incoming: IncomingMessage['headers']): Headers {
  const headers = new Headers();
  for (const name in incoming) {
    const value = incoming[name];
    if (typeof value === 'string') headers.append(name, value);
    else if (value !== undefined) for (const item of value) headers.append(name, item);
  }
  return headers;
}

class NodeRequest {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #url: string;
  #headers: Headers | undefined;
  #abort: AbortController | undefined;
  #request: Request | undefined;
  #used = false;

  constructor(req: IncomingMessage, res: ServerResponse, url: string) {
    this.#req = req;
    this.#res = res;
    this.#url = url;
  }

  get method(): string {
    return this.#req.method ?? 'GET';
  }

  get url(): string {
    return this.#url;
  }

  get headers(): Headers {
    return (this.#headers ??= toHeaders(this.#req.headers));
  }

  /** Aborts when the client goes away before the response is complete. */
  get signal(): AbortSignal {
    if (!this.#abort) {
      const abort = (this.#abort = new AbortController());
      this.#res.once('close', () => {
        if (!this.#res.writableFinished) abort.abort(new Error('The client closed the connection'));
      });
    }
    return this.#abort.signal;
  }

  get bodyUsed(): boolean {
    return this.#used || (this.#request?.bodyUsed ?? false);
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this[realRequest]().body;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.bytes();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  async bytes(): Promise<Uint8Array> {
    if (this.#request) return new Uint8Array(await this.#request.arrayBuffer());
    if (this.#used) throw new TypeError('Body is unusable: the request body has already been read');
    this.#used = true;
    const chunks: Buffer[] = [];
    for await (const chunk of this.#req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async text(): Promise<string> {
    const bytes = await this.bytes();
    // A view of the bytes, not a copy (TextDecoder would also drop a BOM).
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }

  blob(): Promise<Blob> {
    return this[realRequest]().blob();
  }

  formData(): Promise<FormData> {
    return this[realRequest]().formData();
  }

  clone(): Request {
    return this[realRequest]().clone();
  }

  /** A real Request, for the members not implemented above. */
  [realRequest](): Request {
    if (!this.#request) {
      if (this.#used) throw new TypeError('Body is unusable: the request body has already been read');
      const method = this.method;
      const hasBody = method !== 'GET' && method !== 'HEAD';
      // `duplex` is required by undici for a streamed body, and missing from TypeScript's RequestInit.
      const init: RequestInit & { duplex?: 'half' } = { method, headers: this.headers, signal: this.signal };
      if (hasBody) Object.assign(init, { body: Readable.toWeb(this.#req), duplex: 'half' });
      this.#request = new Request(this.#url, init);
    }
    return this.#request;
  }
}

// `instanceof Request` holds, and every Request member NodeRequest does not define reads the real one.
Object.setPrototypeOf(NodeRequest.prototype, Request.prototype);
delegateMembers(NodeRequest.prototype, Request.prototype, (self) => (self as NodeRequest)[realRequest]());

type Chunk = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;
const NOT_YET = Symbol('gantry.notYet');

/** A read's result if it settles within this turn of the event loop, else NOT_YET (the read goes on). */
function settledNow(read: Promise<Chunk>): Promise<Chunk | typeof NOT_YET> {
  return Promise.race([read, new Promise<typeof NOT_YET>((resolve) => setImmediate(resolve, NOT_YET))]);
}

/**
 * Sends an undici Response's body. A body undici holds whole (made from a string, bytes or JSON) is
 * readable at once and ends at once: it goes out with a Content-Length in one end(), as the app would
 * expect. Any other body (a stream, server-sent events) gets its headers as soon as a read would have to
 * wait, and is then streamed with backpressure, each chunk as it comes.
 */
async function sendNativeBody(
  res: ServerResponse,
  status: number,
  statusText: string,
  headers: string[],
  body: ReadableStream<Uint8Array>,
): Promise<void> {
  const reader = body.getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  res.once('close', cancel);
  try {
    const ready: Uint8Array[] = [];
    let read = reader.read();
    for (let result = await settledNow(read); result !== NOT_YET; result = await settledNow(read)) {
      if (result.done) {
        if (!headers.some((name, i) => i % 2 === 0 && name === 'content-length')) {
          headers.push('content-length', String(ready.reduce((total, chunk) => total + chunk.byteLength, 0)));
        }
        res.writeHead(status, statusText || undefined, headers);
        res.end(ready.length === 1 ? ready[0] : Buffer.concat(ready));
        return;
      }
      ready.push(result.value);
      read = reader.read();
    }
    res.writeHead(status, statusText || undefined, headers);
    for (const chunk of ready) res.write(chunk);
    for (let result = await read; !result.done; result = await reader.read()) {
      if (!res.write(result.value)) await drained(res);
      if (res.destroyed) return;
    }
    res.end();
  } finally {
    res.off('close', cancel);
  }
}

/** Resolves once a response that refused a write can take more, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const resume = () => {
      res.off('drain', resume);
      res.off('close', resume);
      resolve();
    };
    res.on('drain', resume);
    res.on('close', resume);
  });
}

/** undici's default for a string body. */
const TEXT_PLAIN = 'text/plain;charset=UTF-8';

/** A FastResponse undici never saw: its headers as node takes them, and its body in one end(). */
function sendParts(res: ServerResponse, { status, headers: init, body }: ResponseParts): void {
  const headers: string[] = [];
  let typed = false;
  let sized = false;
  const add = (name: string, value: unknown) => {
    if (name.length === 12 && name.toLowerCase() === 'content-type') typed = true;
    else if (name.length === 14 && name.toLowerCase() === 'content-length') sized = true;
    headers.push(name, String(value));
  };
  if (init instanceof Headers) for (const [name, value] of init) add(name, value);
  else if (Array.isArray(init)) for (const [name, value] of init) add(name, value);
  else if (init !== undefined) for (const name in init) add(name, (init as Record<string, unknown>)[name]);
  if (typeof body === 'string') {
    if (!typed) headers.push('content-type', TEXT_PLAIN);
    if (!sized) headers.push('content-length', String(Buffer.byteLength(body)));
  } else if (body !== null && !sized) {
    headers.push('content-length', String(body.byteLength));
  }
  res.writeHead(status, headers);
  res.end(body ?? undefined);
}

function sendResponse(res: ServerResponse, value: unknown): Promise<void> | void {
  if (!isResponse(value)) {
    throw new TypeError(`fetch() must return a Response, got ${value === null ? 'null' : typeof value}`);
  }
  const parts = responseParts(value);
  if (parts) return sendParts(res, parts);
  const response = nativeResponse(value);
  const headers: string[] = [];
  for (const [name, value] of response.headers) headers.push(name, value);
  if (response.body === null) {
    res.writeHead(response.status, response.statusText || undefined, headers);
    res.end();
    return;
  }
  return sendNativeBody(res, response.status, response.statusText, headers, response.body);
}

/**
 * The node handler for a fetch app. What the app throws or rejects with (and a value that is not a
 * Response) comes out of the handler as a throw or a rejected promise, for the server to log and
 * answer 500 as it does for any app.
 */
export function fetchHandler(app: FetchApp): FetchRequestHandler {
  return (req, res, scheme) => {
    let request: NodeRequest;
    try {
      request = new NodeRequest(req, res, requestUrl(req, scheme));
    } catch (error) {
      answerAndClose(res, 400, `Bad Request: ${error instanceof BadRequest ? error.message : 'invalid request target'}\n`);
      return;
    }
    const result = app.fetch(request as unknown as Request, { incoming: req, outgoing: res });
    if (isResponse(result)) return sendResponse(res, result);
    return Promise.resolve(result).then((response) => sendResponse(res, response));
  };
}
