/**
 * gunicorn's HTTP request corpus (../shared/corpora/gunicorn-requests, 137 raw requests) against a real
 * gantry server, over TCP. Contract (the corpus README's, made exact for a streaming server):
 * - invalid: one 4xx (or a close without response) and the same worker answers next; the app never
 *   receives the request whole: either it is not called at all (refused at the head) or it is called
 *   before the body and its read of the body fails (refused mid-body), and nothing it writes after that
 *   reaches the client;
 * - valid: the app sees the same method, target, headers and body (each pipelined request, in order).
 * Each case's gunicorn settings are mirrored by gantry's own; cases whose settings have no equivalent are
 * skipped (with the reason), and cases gantry decides differently are listed in DIFFERENCES (and asserted
 * as such). docs/http-corpus.md explains both lists; its results table is this run's (UPDATE_DOCS=1
 * rewrites it, and the run fails when the document and the run disagree).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { replaceGenerated } from '../../../../scripts/markdown.js';
import { FIXTURES, REPO_ROOT, type Running, freePort, gantry } from '../helpers/process.js';
import { exchange } from '../helpers/raw.js';
import { describeWith, requirement } from '../helpers/requirements.js';

const CORPUS = join(REPO_ROOT, '../shared/corpora/gunicorn-requests/');
const corpus = requirement(
  existsSync(join(CORPUS, 'expectations.json')),
  `gunicorn's request corpus at ${CORPUS} (the steering repository's shared/ beside this one)`,
);
const DOC = join(REPO_ROOT, 'docs/http-corpus.md');

interface ExpectedRequest {
  readonly method: string;
  readonly uri: { readonly raw: string };
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
  readonly trailers?: readonly (readonly [string, string])[];
}

interface Case {
  readonly kind: 'valid' | 'invalid';
  readonly http: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly error?: string;
  readonly requests?: readonly ExpectedRequest[];
}

/** gunicorn settings with no gantry equivalent; a case that needs one is skipped. */
const UNMIRRORED = new Set([
  'permit_obsolete_folding',
  'header_map',
  'proxy_protocol',
  'strip_header_spaces',
  'casefold_http_method',
  'permit_unconventional_http_method',
]);

/** Valid in gunicorn, refused by gantry on purpose (node's parser or an RFC), with the status we give. */
const DIFFERENCES: Record<string, { status: number; why: string }> = {
  'valid/009': {
    status: 400,
    why: 'Transfer-Encoding: identity with Content-Length: RFC 9112 has no identity coding; TE+CL is a smuggling vector',
  },
  'valid/027': { status: 400, why: 'raw UTF-8 in the request target: RFC 3986 requires it percent-encoded' },
  'valid/031': { status: 400, why: "method -BLARGH: node's parser accepts only registered methods" },
  'valid/013': {
    status: 400,
    why: "chunk extensions with spaces (5; some; parameters=stuff): node's strict parser refuses them",
  },
  'valid/099': {
    status: 400,
    why: 'a body of 8,599 bytes declared as 17,914: an incomplete message (RFC 9112 8); gunicorn passes the partial body on',
  },
  'valid/rfc9112_target_authority_connect_01': { status: 405, why: 'CONNECT opens a tunnel; gantry is not a forward proxy' },
  'valid/rfc9112_target_authority_ipv6_01': { status: 405, why: 'CONNECT opens a tunnel; gantry is not a forward proxy' },
};

/** gunicorn's default secure_scheme_headers, mirrored where a case relies on them. */
const GUNICORN_SCHEME_HEADERS = 'X-Forwarded-Protocol: ssl, X-Forwarded-Proto: https, X-Forwarded-Ssl: on';

/** The corpus README's decoding (the same as gunicorn's treq.py). */
function decode(raw: Buffer): Buffer {
  const text = raw
    .toString('latin1')
    .replace(/\n/g, '')
    .replace(/\\r\\n/g, '\r\n')
    .replace(/\\0/g, '\0')
    .replace(/\\n/g, '\n')
    .replace(/\\t/g, '\t')
    .replace(/\\x([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  if (text.includes('\\')) throw new Error('stray backslash');
  return Buffer.from(text, 'latin1');
}

/** gantry flags mirroring a case's gunicorn settings (gunicorn never requires a Host header). */
function mirror(settings: Readonly<Record<string, unknown>>): string[] {
  const flags = ['--no-require-host-header'];
  for (const [name, value] of Object.entries(settings)) {
    if (name === 'limit_request_field_size') flags.push('--limit-request-field-size', String(value === 0 ? 8190 : value));
    else if (name === 'limit_request_fields') flags.push('--limit-request-fields', String(value));
    else if (name === 'limit_request_line') flags.push('--limit-request-line', String(value));
    else if (name === 'forwarded_allow_ips')
      flags.push('--forwarded-allow-ips', String(value), '--secure-scheme-headers', GUNICORN_SCHEME_HEADERS);
  }
  return flags;
}

const cases: [string, Case][] = corpus.available
  ? Object.entries(JSON.parse(readFileSync(join(CORPUS, 'expectations.json'), 'utf8')) as Record<string, Case>)
  : [];
const runnable = cases.filter(([, c]) => !Object.keys(c.settings).some((name) => UNMIRRORED.has(name)));
const skipped = cases.filter(([, c]) => Object.keys(c.settings).some((name) => UNMIRRORED.has(name)));

interface Seen {
  readonly seq: number;
  readonly event: 'called' | 'read' | 'body-failed';
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly body: string;
  readonly rawTrailers: string[];
}

const servers = new Map<string, { proc: Running; port: number; pid: number }>();
let calls: string;
const tally = { refusedAtHead: 0, refusedMidBody: 0, closedWithoutAnswer: 0, validServed: 0, differences: 0 };

beforeAll(async () => {
  calls = join(await mkdtemp(join(tmpdir(), 'gantry-corpus-')), 'calls.jsonl');
});

/** The results table of docs/http-corpus.md, from this run's tally. */
function resultsTable(): string {
  const invalid = runnable.filter(([, c]) => c.kind === 'invalid').length;
  const valid = runnable.length - invalid;
  const settings = [...new Set(skipped.flatMap(([, c]) => Object.keys(c.settings).filter((name) => UNMIRRORED.has(name))))];
  return [
    '| | Cases | Outcome |',
    '|---|---|---|',
    `| Invalid | ${invalid} run | ${tally.refusedAtHead} refused at the head (4xx and a close; the app is not called); ` +
      `${tally.refusedMidBody} refused mid-body (4xx and a close; the app, called before the body, sees its read fail, and nothing it writes reaches the client); ` +
      `${tally.closedWithoutAnswer} closed without an answer |`,
    `| Valid | ${valid} run | ${tally.validServed} reached the app intact; ${tally.differences} refused on purpose (below) |`,
    `| Skipped | ${skipped.length} | their gunicorn settings have no gantry equivalent (${settings.map((n) => `\`${n}\``).join(', ')}; below) |`,
  ].join('\n');
}

afterAll(async () => {
  for (const { proc } of servers.values()) {
    proc.signal('SIGTERM');
    await proc.exit();
    expect(proc.output).not.toMatch(/crashed|hung|uncaught/);
  }
  if (
    !corpus.available ||
    runnable.length !==
      tally.refusedAtHead + tally.refusedMidBody + tally.closedWithoutAnswer + tally.validServed + tally.differences
  ) {
    return; // not a full run (a filter, or a failure): the document is not compared
  }
  const block = { name: 'corpus', command: 'UPDATE_DOCS=1 npx vitest run --project e2e corpus' };
  const document = await readFile(DOC, 'utf8');
  const updated = replaceGenerated(document, resultsTable(), block);
  if (process.env.UPDATE_DOCS) await writeFile(DOC, updated);
  else expect(document, 'docs/http-corpus.md disagrees with this run: UPDATE_DOCS=1 rewrites it').toBe(updated);
});

async function workerPid(port: number): Promise<number> {
  const result = await exchange(port, 'GET /pid HTTP/1.0\r\n\r\n');
  return (JSON.parse(result.response.slice(result.response.indexOf('\r\n\r\n') + 4)) as { pid: number }).pid;
}

async function server(settings: Readonly<Record<string, unknown>>): Promise<{ proc: Running; port: number; pid: number }> {
  const flags = mirror(settings);
  const key = flags.join(' ');
  const existing = servers.get(key);
  if (existing) return existing;
  const port = await freePort();
  const proc = gantry(['serve', '--workers', '1', '--bind', `127.0.0.1:${port}`, ...flags, 'apps/echo-app.mjs'], {
    cwd: FIXTURES,
    env: { CALLS_FILE: calls },
  });
  await proc.waitFor(/listening at/);
  const entry = { proc, port, pid: await workerPid(port) };
  servers.set(key, entry);
  return entry;
}

async function appSaw(): Promise<Seen[]> {
  return (await readFile(calls, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Seen)
    .sort((a, b) => a.seq - b.seq);
}

function pairs(raw: readonly string[]): [string, string][] {
  const result: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) result.push([raw[i] as string, raw[i + 1] as string]);
  return result;
}

/**
 * How an invalid request was refused, from what the app recorded of it: nothing (at the head), or a call
 * whose read of the body failed (mid-body; that record may come a moment after the 4xx).
 */
async function refusal(events: readonly Seen[]): Promise<'at the head' | 'mid-body'> {
  if (events.length === 0) return 'at the head';
  const ofTheCase = async () => (await appSaw()).filter((e) => e.url !== '/pid').map((e) => e.event);
  await expect.poll(ofTheCase).toEqual(['called', 'body-failed']);
  return 'mid-body';
}

describeWith(corpus, "gunicorn's request corpus", () => {
  // Without the corpus there are no cases to list: one entry stands for them all in the skip summary.
  if (!corpus.available) it('every case of the corpus', () => {});
  it.each(runnable)('%s', async (name, testCase) => {
    const { port, pid } = await server(testCase.settings);
    await writeFile(calls, '');
    const result = await exchange(port, decode(readFileSync(join(CORPUS, testCase.http))), { timeoutMs: 3000 });
    // The same worker answers next (a bare request: some servers run with tiny header limits): it neither
    // crashed nor was replaced. It serves in order, so by its answer every call of the case is recorded.
    expect(await workerPid(port)).toBe(pid);
    const events = (await appSaw()).filter((e) => e.url !== '/pid');
    const difference = DIFFERENCES[name];

    if (testCase.kind === 'invalid' || difference) {
      expect(result.closed).toBe(true);
      expect(result.response).not.toContain('written by the app');
      const how = await refusal(events);
      if (difference) {
        expect(result.statuses).toEqual([difference.status]);
        tally.differences++;
      } else if (result.statuses.length === 0) {
        tally.closedWithoutAnswer++;
      } else {
        expect(result.statuses).toHaveLength(1);
        expect(result.statuses[0]).toBeGreaterThanOrEqual(400);
        expect(result.statuses[0]).toBeLessThan(500);
        if (how === 'at the head') tally.refusedAtHead++;
        else tally.refusedMidBody++;
      }
    } else {
      const expected = testCase.requests ?? [];
      expect(result.statuses).toEqual(expected.map(() => 200));
      const seen = events.filter((e) => e.event === 'read');
      expect(seen).toHaveLength(expected.length);
      expected.forEach((want, i) => {
        const got = seen[i] as Seen;
        expect(got.method).toBe(want.method);
        expect(got.url).toBe(want.uri.raw);
        expect(got.body).toBe(want.body);
        const headers = pairs(got.rawHeaders).map(([n, v]) => [n.toUpperCase(), v]);
        // gunicorn drops header names with "_" (its WSGI environ would confuse X_A with X-A); node has no such mapping.
        expect(headers.filter(([n]) => !n?.includes('_'))).toEqual(want.headers.map(([n, v]) => [n, v]));
        if (want.trailers) expect(pairs(got.rawTrailers).map(([n, v]) => [n.toUpperCase(), v])).toEqual(want.trailers);
      });
      tally.validServed++;
    }
  });

  for (const [name, testCase] of skipped) {
    const settings = Object.keys(testCase.settings).filter((setting) => UNMIRRORED.has(setting));
    it(name, (context) => context.skip(`no gantry equivalent of gunicorn's ${settings.join(', ')} (docs/http-corpus.md)`));
  }
});
