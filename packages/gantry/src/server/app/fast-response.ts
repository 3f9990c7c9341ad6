/**
 * A lighter global `Response` for `{ fetch }` apps, as @hono/node-server installs one (srvx offers the
 * same as FastResponse). On node, undici's Response is most of a small fetch app's cost: each one makes a
 * ReadableStream (transferable, so expensive to set up), a Headers and WebIDL checks, only for the
 * adapter to take the string back out. `new Response(body, init)` with a string, bytes or no body and a
 * plain init here only keeps its arguments, and the adapter writes them to node directly.
 *
 * undici's Response is made the moment a member that needs it is used (`headers`, `body`, `text()`,
 * `clone()`...), and from then on every member reads that one, so the app sees the standard behaviour.
 * `status`, `ok` and `statusText` are answered without it. Anything unusual (a stream or Blob body, an
 * out-of-range status, a statusText) goes to undici at once, which also throws its usual errors.
 * `x instanceof Response` holds for both kinds. Installed in fetch workers unless `--no-fast-response`.
 */
import { delegateMembers } from './delegate.js';

const NativeResponse = globalThis.Response;

type BodyInit = ConstructorParameters<typeof Response>[0];
type HeadersInit = ResponseInit['headers'];

export type PlainBody = string | Uint8Array | null;

/** What a FastResponse holds until undici's Response is needed. */
export interface ResponseParts {
  readonly status: number;
  readonly headers: HeadersInit;
  readonly body: PlainBody;
}

/** The statuses a body is not allowed with (undici throws for them). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

function plainBody(body: unknown): body is PlainBody | undefined {
  return body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
}

function plainHeaders(headers: unknown): headers is HeadersInit {
  if (headers === undefined || headers instanceof Headers || Array.isArray(headers)) return true;
  if (typeof headers !== 'object' || headers === null) return false;
  const prototype = Object.getPrototypeOf(headers) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/** The status of an init FastResponse can keep without undici, or undefined. */
function plainStatus(init: ResponseInit | undefined, hasBody: boolean): number | undefined {
  if (init === undefined) return 200;
  if (typeof init !== 'object' || init === null || init instanceof NativeResponse) return undefined;
  if (init.statusText !== undefined || !plainHeaders(init.headers)) return undefined;
  const status = init.status ?? 200;
  if (!Number.isInteger(status) || status < 200 || status > 599) return undefined;
  return hasBody && NULL_BODY_STATUSES.has(status) ? undefined : status;
}

class FastResponseImpl {
  #parts: ResponseParts | undefined;
  #native: Response | undefined;

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    const status = plainBody(body) ? plainStatus(init, body !== undefined && body !== null) : undefined;
    if (status === undefined) this.#native = new NativeResponse(body, init);
    else this.#parts = { status, headers: init?.headers, body: (body as PlainBody | undefined) ?? null };
  }

  /** `x instanceof Response`: any Response, fast or undici's (a subclass keeps the usual test). */
  static [Symbol.hasInstance](value: unknown): boolean {
    if (this !== FastResponseImpl) return Function.prototype[Symbol.hasInstance].call(this, value);
    return value instanceof NativeResponse;
  }

  static partsOf(response: object): ResponseParts | undefined {
    return #parts in response ? response.#parts : undefined;
  }

  static nativeOf(response: Response): Response {
    if (!(#parts in response)) return response;
    const fast = response as unknown as FastResponseImpl;
    if (fast.#native === undefined) {
      const { body, status, headers } = fast.#parts as ResponseParts;
      fast.#native = new NativeResponse(body, { status, ...(headers === undefined ? {} : { headers }) });
      fast.#parts = undefined;
    }
    return fast.#native;
  }

  get status(): number {
    return this.#parts?.status ?? FastResponseImpl.nativeOf(this as unknown as Response).status;
  }

  get ok(): boolean {
    const status = this.status;
    return status >= 200 && status <= 299;
  }

  get statusText(): string {
    return this.#parts ? '' : FastResponseImpl.nativeOf(this as unknown as Response).statusText;
  }
}

// Every other member of Response reads undici's, made on first use.
delegateMembers(FastResponseImpl.prototype, NativeResponse.prototype, (self) => FastResponseImpl.nativeOf(self as Response));
Object.defineProperty(FastResponseImpl, 'name', { value: 'Response' });
Object.defineProperty(FastResponseImpl.prototype, Symbol.toStringTag, { value: 'Response', configurable: true });
// Response.json(), Response.redirect() and Response.error() come from undici's class.
Object.setPrototypeOf(FastResponseImpl, NativeResponse);
Object.setPrototypeOf(FastResponseImpl.prototype, NativeResponse.prototype);

export const FastResponse = FastResponseImpl as unknown as typeof Response;

/** Whether `value` is a Response, fast or undici's, whatever the global is now. */
export function isResponse(value: unknown): value is Response {
  return value instanceof NativeResponse;
}

/** The parts of a FastResponse whose undici Response was never needed; undefined for any other. */
export function responseParts(response: Response): ResponseParts | undefined {
  return FastResponseImpl.partsOf(response);
}

/** undici's Response behind `response` (itself, unless it is a FastResponse). */
export function nativeResponse(response: Response): Response {
  return FastResponseImpl.nativeOf(response);
}

/** Makes FastResponse the process's global Response (the app's `new Response()` then makes one). */
export function installFastResponse(): void {
  if (globalThis.Response === FastResponse) return;
  Object.defineProperty(globalThis, 'Response', { value: FastResponse, writable: true, configurable: true, enumerable: false });
}
