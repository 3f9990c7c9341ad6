/**
 * Checks a request before the app sees it, on top of node's own parser (llhttp), which already refuses
 * malformed request lines, header syntax, conflicting framing and bad chunks.
 *
 * What it adds (gunicorn's limits and rules; see docs/http-corpus.md):
 * - 414 for a request line over limit-request-line;
 * - 431 for more than limit-request-fields headers or one over limit-request-field-size;
 * - 413 for a declared body over limit-request-body (a streamed one is cut when it gets there);
 * - 400 for a version other than HTTP/1.x, a request target that is not origin-form, absolute-form or
 *   `*` (OPTIONS only), Transfer-Encoding on HTTP/1.0 (RFC 9112 6.1), and a repeated Host, Content-Length,
 *   Content-Type or Authorization: node keeps the first and drops the rest, and a proxy may have read
 *   the other one (request smuggling, host confusion).
 * One pass over rawHeaders, lower-casing only names whose length could match.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerAndClose } from './answers.js';
import { lingerOnNextDestroy } from './connections.js';
import type { ServerSettings } from '../settings.js';

export interface RequestLimits {
  readonly line: number;
  readonly fields: number;
  readonly fieldSize: number;
  /** 0: no limit. */
  readonly body: number;
}

export interface Rejection {
  readonly status: 400 | 413 | 414 | 431;
  readonly reason: string;
}

/** The most a request's header block may take, whatever the limits say (nginx allows 32 KiB). */
const MAX_HEADER_BLOCK = 64 * 1024;

export function requestLimits(settings: ServerSettings): RequestLimits {
  return {
    line: settings.limitRequestLine || 65536,
    fields: settings.limitRequestFields,
    fieldSize: settings.limitRequestFieldSize || 65536,
    body: settings.limitRequestBody,
  };
}

/** node's maxHeaderSize (request line and headers together) for these limits. */
export function headerBlockSize(limits: RequestLimits): number {
  return Math.min(MAX_HEADER_BLOCK, limits.line + 2 + limits.fields * (limits.fieldSize + 2) + 2);
}

const SINGLETONS: ReadonlyMap<number, readonly string[]> = new Map([
  [4, ['host']],
  [12, ['content-type']],
  [13, ['authorization']],
  [14, ['content-length']],
]);

const ABSOLUTE_FORM = /^https?:\/\/[^\s/?#]+[^\s]*$/i;

function checkTarget(method: string, url: string): Rejection | undefined {
  if (url.charCodeAt(0) === 47 /* / */) return undefined;
  if (url === '*') return method === 'OPTIONS' ? undefined : { status: 400, reason: 'the * request target is only for OPTIONS' };
  if (ABSOLUTE_FORM.test(url) && URL.canParse(url)) return undefined;
  return { status: 400, reason: 'invalid request target' };
}

export function checkRequest(req: IncomingMessage, limits: RequestLimits): Rejection | undefined {
  if (req.httpVersionMajor !== 1) return { status: 400, reason: `unsupported version HTTP/${req.httpVersion}` };
  const method = req.method ?? '';
  const url = req.url ?? '';
  // "METHOD SP target SP HTTP/1.1"
  if (method.length + url.length + 10 > limits.line) return { status: 414, reason: 'request line too long' };
  const targetProblem = checkTarget(method, url);
  if (targetProblem) return targetProblem;

  const raw = req.rawHeaders;
  if (raw.length / 2 > limits.fields) return { status: 431, reason: 'too many header fields' };
  let seen: string[] | undefined;
  let transferEncoding = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    // The field's line as sent: "name: value" and its CRLF, as gunicorn counts it.
    if (name.length + (raw[i + 1] as string).length + 4 > limits.fieldSize)
      return { status: 431, reason: `header ${name} too large` };
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') transferEncoding = true;
    const candidates = SINGLETONS.get(name.length);
    if (!candidates) continue;
    const lower = name.toLowerCase();
    if (!candidates.includes(lower)) continue;
    if (seen?.includes(lower)) return { status: 400, reason: `more than one ${name} header` };
    (seen ??= []).push(lower);
  }
  if (transferEncoding && req.httpVersionMinor === 0) return { status: 400, reason: 'Transfer-Encoding in an HTTP/1.0 request' };
  if (limits.body > 0) {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limits.body) return { status: 413, reason: 'request body too large' };
  }
  return undefined;
}

/**
 * Trailer fields refused after a body: those that decide framing, routing or authentication (RFC 9110
 * 6.5.1), which a proxy may have acted on differently. Content metadata (Content-Type) is let through.
 */
const FORBIDDEN_TRAILERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'trailer',
  'te',
  'authorization',
  'proxy-authorization',
  'cookie',
  'expect',
  'max-forwards',
]);

/**
 * Watches a streamed (chunked) body as node hands it to the app: cuts it off with 413 past the body
 * limit, and fails it when a trailer sets a field that only a header may set. Either way the app's read
 * fails, the client gets a 4xx and the connection is closed.
 */
export function watchStreamedBody(req: IncomingMessage, res: ServerResponse, limit: number): void {
  const push = req.push.bind(req);
  let received = 0;
  let refused = false;
  const refuse = (status: 400 | 413, reason: string) => {
    if (refused) return false;
    refused = true;
    // The app may still try to answer: a write after ours must not crash the worker.
    res.on('error', () => {});
    if (!res.headersSent) answerAndClose(res, status, `${reason}\n`);
    // The app's read fails; the socket lingers, so that the answer is not lost to a reset.
    lingerOnNextDestroy(req.socket);
    req.destroy(new Error(reason));
    return false;
  };
  req.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk === null) {
      const trailers = req.rawTrailers;
      for (let i = 0; i < trailers.length; i += 2) {
        const name = (trailers[i] as string).toLowerCase();
        if (FORBIDDEN_TRAILERS.has(name)) return refuse(400, `Bad Request: ${trailers[i]} is not allowed in a trailer`);
      }
    } else if (limit > 0) {
      received += (chunk as Buffer).length;
      if (received > limit) return refuse(413, 'Payload Too Large');
    }
    return push(chunk, encoding);
  };
}
