/**
 * The access log: gunicorn's format language (`%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"`),
 * compiled once into a list of small functions, or `json`: one JSON object per line, every value escaped
 * (a hand-written JSON format in gunicorn breaks on a quote in a URL).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino } from 'pino';
import { type Codec, InvalidValue, stringOnly } from '../../settings/codecs.js';

export const DEFAULT_ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"';

export interface AccessRecord {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** performance.now() at the start of the request. */
  readonly startedAt: number;
  /** The client's address as gantry trusts it (the peer, or what a trusted proxy said). */
  readonly clientAddress: string;
}

type Atom = (record: AccessRecord, durationMs: number) => string;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** [24/Nov/2026:10:43:00 +0000], the common log format's date. */
function clfDate(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `[${pad(date.getDate())}/${MONTHS[date.getMonth()]}/${date.getFullYear()}:` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ` +
    `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}]`
  );
}

const dash = (value: string | number | undefined) => (value === undefined || value === '' ? '-' : String(value));

function basicAuthUser(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (!auth?.toLowerCase().startsWith('basic ')) return undefined;
  const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(0, colon) : undefined;
}

/**
 * The response's Content-Length. Headers given to writeHead() (as Fastify does) are not visible to
 * getHeader(), only in the header block node wrote; a chunked response has no length ("-").
 */
function bytesSent(res: ServerResponse): number | undefined {
  const length =
    res.getHeader('content-length') ?? /\r\ncontent-length: *(\d+)/i.exec((res as { _header?: string })._header ?? '')?.[1];
  return length === undefined ? undefined : Number(length);
}

const ATOMS: Record<string, Atom> = {
  h: (r) => r.clientAddress,
  l: () => '-',
  u: (r) => dash(basicAuthUser(r.req)),
  t: () => clfDate(new Date()),
  r: (r) => `${r.req.method} ${r.req.url} HTTP/${r.req.httpVersion}`,
  m: (r) => dash(r.req.method),
  U: (r) => (r.req.url ?? '').split('?')[0] ?? '',
  q: (r) => {
    const url = r.req.url ?? '';
    const at = url.indexOf('?');
    return at < 0 ? '' : url.slice(at + 1);
  },
  H: (r) => `HTTP/${r.req.httpVersion}`,
  s: (r) => String(r.res.statusCode),
  B: (r) => String(bytesSent(r.res) ?? 0),
  b: (r) => dash(bytesSent(r.res)),
  f: (r) => dash(r.req.headers.referer),
  a: (r) => dash(r.req.headers['user-agent']),
  T: (_, ms) => String(Math.floor(ms / 1000)),
  M: (_, ms) => String(Math.round(ms)),
  D: (_, ms) => String(Math.round(ms * 1000)),
  L: (_, ms) => (ms / 1000).toFixed(6),
  p: () => `<${process.pid}>`,
};

function jsonLine(record: AccessRecord): string {
  const { req, res } = record;
  return JSON.stringify({
    time: new Date().toISOString(),
    client: record.clientAddress,
    method: req.method,
    url: req.url,
    version: req.httpVersion,
    status: res.statusCode,
    bytes: bytesSent(res) ?? null,
    duration_ms: Math.round((performance.now() - record.startedAt) * 1000) / 1000,
    referer: req.headers.referer ?? null,
    user_agent: req.headers['user-agent'] ?? null,
    request_id: req.headers['x-request-id'] ?? null,
  });
}

/** Compiles a format; unknown atoms are an error at start, not a surprise in the log. */
export function compileAccessLogFormat(format: string): (record: AccessRecord) => string {
  if (format === 'json') return jsonLine;
  const parts: (string | Atom)[] = [];
  const pattern = /%\((\{([^}]+)\}([io])|[A-Za-z])\)s/g;
  let last = 0;
  for (const match of format.matchAll(pattern)) {
    parts.push(format.slice(last, match.index));
    const [, atom = '', header, direction] = match;
    if (header !== undefined) {
      const name = header.toLowerCase();
      parts.push(
        direction === 'i' ? (r) => dash(String(r.req.headers[name] ?? '')) : (r) => dash(String(r.res.getHeader(name) ?? '')),
      );
    } else {
      const fn = ATOMS[atom];
      if (!fn)
        throw new InvalidValue(
          `"json" or a format of known atoms (%(${atom})s is not one; known: ${Object.keys(ATOMS).join(' ')})`,
        );
      parts.push(fn);
    }
    last = match.index + match[0].length;
  }
  parts.push(format.slice(last));
  return (record) => {
    const ms = performance.now() - record.startedAt;
    let line = '';
    for (const part of parts) line += typeof part === 'string' ? part : part(record, ms);
    return line;
  };
}

export interface AccessLog {
  write(record: AccessRecord): void;
  /** Reopen the file (after logrotate moved it). */
  reopen(): void;
  flush(): void;
}

export function createAccessLog(destination: string, format = DEFAULT_ACCESS_LOG_FORMAT): AccessLog {
  const render = compileAccessLogFormat(format);
  const stream = pino.destination(destination === '-' ? { fd: 1, sync: false } : { dest: destination, sync: false, mkdir: true });
  return {
    write: (record) => void stream.write(render(record) + '\n'),
    reopen: () => {
      if (destination !== '-') stream.reopen();
    },
    flush: () => stream.flushSync(),
  };
}

export const accessLogFormatCodec: Codec<string, string> = stringOnly<string>({
  expected: '"json" or a format of gunicorn atoms',
  meta: 'FORMAT',
  fromString: (raw) => {
    compileAccessLogFormat(raw);
    return raw;
  },
  format: String,
});
