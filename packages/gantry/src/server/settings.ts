/**
 * Every `gantry serve` setting, declared once. The flag (--graceful-timeout), the environment variable
 * (GANTRY_GRACEFUL_TIMEOUT) and the config-file key (gracefulTimeout) are derived from the key.
 */
import { boolean, choice, integer, list, optionalPath, pathPrefix, seconds } from '../settings/codecs.js';
import { type SettingsOf, defineRegistry, pickSettings } from '../settings/registry.js';
import { bindCodec, formatBind, optionalBindCodec, parseBind } from './bind.js';
import { DEFAULT_ACCESS_LOG_FORMAT, accessLogFormatCodec } from './http/access-log.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../logger.js';

export type { LogFormat, LogLevel };
import { allowedAddressCodec, headerMapCodec } from './http/proxy.js';
import { workersCodec } from './workers-setting.js';

export const APP_KINDS = ['auto', 'factory', 'listener'] as const;
export type AppKind = (typeof APP_KINDS)[number];

export const serverSettings = defineRegistry({
  bind: {
    codec: list(bindCodec, { min: 1 }),
    default: [parseBind('127.0.0.1:8000')],
    section: 'Server socket',
    doc: 'Address to listen on; repeat the flag (or separate with commas) to listen on several.',
    short: 'b',
    repeatable: true,
  },
  workers: {
    codec: workersCodec,
    default: 2,
    section: 'Worker processes',
    doc: "Number of worker processes, each running the app on its own event loop; auto: one per CPU this process may use, its container's CPU quota (cgroup cpu.max, a Kubernetes pod's limits.cpu) when it has one, logged at start.",
    short: 'w',
  },
  threads: {
    codec: integer({ min: 1, max: 1024 }),
    default: 1,
    section: 'Worker processes',
    doc: "Size of each worker's thread pool for CPU-heavy work (Node serves requests on one thread).",
  },
  timeout: {
    codec: seconds(),
    default: 30,
    section: 'Worker processes',
    doc: 'A worker whose event loop is stuck this long is logged with the requests it was serving, then killed (SIGABRT, then SIGKILL) and replaced; 0 turns the watch off.',
  },
  bootTimeout: {
    codec: seconds({ min: 1 }),
    default: 60,
    section: 'Worker processes',
    doc: 'A worker must be serving within this long after it starts; otherwise the start (or the reload) fails.',
  },
  gracefulTimeout: {
    codec: seconds(),
    default: 30,
    section: 'Worker processes',
    doc: 'On stop or reload, how long in-flight requests may run before their worker is killed.',
  },
  maxRequests: {
    codec: integer({ min: 0, max: 1_000_000_000 }),
    default: 0,
    section: 'Worker processes',
    doc: 'Replace a worker after it has served this many requests (a cure for slow leaks); 0 never.',
  },
  maxRequestsJitter: {
    codec: integer({ min: 0, max: 1_000_000_000 }),
    default: 0,
    section: 'Worker processes',
    doc: "Add a random 0..N to each worker's max-requests, so workers are not all replaced at once.",
  },
  maxWorkerMemory: {
    codec: integer({ min: 0, max: 1_048_576 }),
    default: 0,
    section: 'Worker processes',
    doc: "Replace a worker whose resident memory (RSS) passes this many MiB, checked every second, as max-requests does (no request lost); each worker's limit is drawn between 90% and 100% of it. 0 never. See README for --max-old-space-size and container limits.",
  },
  preload: {
    codec: boolean(),
    default: false,
    section: 'Worker processes',
    doc: 'Load the app in the primary before forking, so a broken app is reported once before any worker starts (see README).',
  },
  appKind: {
    codec: choice(APP_KINDS),
    default: 'auto',
    section: 'Worker processes',
    doc: 'What a function the app module exports is: a request listener (req, res), or a factory called once per worker that returns the app. auto decides by its declared parameters (two or more: a listener), which a listener written (...args) fools.',
  },
  fastResponse: {
    codec: boolean(),
    default: true,
    section: 'Worker processes',
    doc: "For { fetch } apps: make the global Response a lighter one that builds undici's only when a member needs it (as @hono/node-server does); about twice the requests/s for small responses. See README.",
  },
  keepAlive: {
    codec: seconds({ min: 1 }),
    default: 65,
    section: 'Server socket',
    doc: "Idle keep-alive timeout; keep it above the proxy's upstream keepalive_timeout (nginx: 60 s).",
  },
  drainIdleTimeout: {
    codec: seconds({ min: 0.1 }),
    default: 5,
    section: 'Server socket',
    doc: "While a worker drains, a keep-alive connection is closed once idle this long. Keep it above the proxy's idle timeout for pooled upstream connections (the nginx template's upstream keepalive_timeout is 4 s), so that the proxy, never gantry, closes a connection the proxy might be reusing.",
  },
  longLivedTimeout: {
    codec: seconds({ min: 0.1 }),
    default: 5,
    section: 'Long-lived connections',
    doc: 'On stop or reload, how long WebSockets and event streams (text/event-stream) get to close before they are cut: gantry closes each WebSocket with 1001 "going away" and ends each event stream at a random moment within the first 40% of it, so clients do not all reconnect at once. Ordinary requests keep graceful-timeout.',
  },
  maxLongLived: {
    codec: integer({ min: 0, max: 10_000_000 }),
    default: 10_000,
    section: 'Long-lived connections',
    doc: 'Most WebSockets and event streams one worker keeps open; past it an upgrade or a request that accepts text/event-stream gets 503. 0 is no limit.',
  },
  maxSendBuffer: {
    codec: integer({ min: 0 }),
    default: 4 * 1024 * 1024,
    section: 'Long-lived connections',
    doc: 'A WebSocket or event stream whose unsent bytes pass this many (a client that stopped reading) is dropped, checked every second, so no worker buffers without bound. 0 is no limit.',
  },
  reusePort: {
    codec: boolean(),
    default: false,
    section: 'Server socket',
    doc: "Each worker listens on its own SO_REUSEPORT socket and the kernel spreads connections, instead of the primary handing them out (Linux). A reload can then reset connections queued on a closing worker's socket unless net.ipv4.tcp_migrate_req=1; see README's benchmarks.",
  },
  headerTimeout: {
    codec: seconds({ min: 1 }),
    default: 10,
    section: 'Limits',
    doc: "A client must send a request's headers within this long (slow clients are answered 408 and closed).",
  },
  requestTimeout: {
    codec: seconds({ min: 1 }),
    default: 60,
    section: 'Limits',
    doc: 'A client must send a whole request, body included, within this long; at least header-timeout.',
  },
  limitRequestLine: {
    codec: integer({ min: 0, max: 65536 }),
    default: 4094,
    section: 'Limits',
    doc: 'Longest request line (method, target, version) in bytes; longer gets 414. 0 means 65536.',
  },
  limitRequestFields: {
    codec: integer({ min: 1, max: 32768 }),
    default: 100,
    section: 'Limits',
    doc: 'Most header fields in a request; more gets 431.',
  },
  limitRequestFieldSize: {
    codec: integer({ min: 0, max: 65536 }),
    default: 8190,
    section: 'Limits',
    doc: 'Longest header field line (name: value and CRLF) in bytes; longer gets 431. 0 means 65536. The whole header block is capped at 64 KiB.',
  },
  limitRequestBody: {
    codec: integer({ min: 0 }),
    default: 10 * 1024 * 1024,
    section: 'Limits',
    doc: 'Largest request body in bytes; a larger declared body gets 413 before the app is called, a larger streamed one 413 when it gets there (the app sees its read fail). 0 is no limit.',
  },
  requireHostHeader: {
    codec: boolean(),
    default: true,
    section: 'Limits',
    doc: 'Answer 400 to an HTTP/1.1 request without a Host header, as RFC 9112 requires.',
  },
  healthPrefix: {
    codec: pathPrefix(),
    default: '/_gantry',
    section: 'Server socket',
    doc: "gantry's own health answers on every bind: PREFIX/live (200 while the worker's event loop turns) and PREFIX/ready (503 while it drains). Empty turns them off.",
  },
  metricsBind: {
    codec: optionalBindCodec,
    default: null,
    section: 'Observability',
    doc: 'Where the primary serves /metrics (Prometheus, all workers together), /live, /ready and a /status page; off when unset. Never an app address.',
  },
  forwardedAllowIps: {
    codec: list(allowedAddressCodec),
    default: ['127.0.0.1', '::1'],
    section: 'Proxy',
    doc: 'Peers (IPs, CIDRs or *) whose X-Forwarded-* headers are trusted; from others they are removed.',
  },
  secureSchemeHeaders: {
    codec: headerMapCodec,
    default: { 'X-Forwarded-Proto': 'https' },
    section: 'Proxy',
    doc: 'Headers from a trusted proxy that mark a request as HTTPS, with the value that means so.',
  },
  reload: {
    codec: boolean(),
    default: false,
    section: 'Process',
    doc: "Development only: watch the app's directory and the config file, and reload gracefully (as on SIGHUP) when a file changes. Refused with NODE_ENV=production.",
  },
  pid: {
    codec: optionalPath(),
    default: null,
    section: 'Process',
    doc: "File to write the primary process's pid to.",
    short: 'p',
  },
  logLevel: {
    codec: choice(LOG_LEVELS),
    default: 'info',
    section: 'Logging',
    doc: 'Minimum level of the error log (standard error).',
  },
  logFormat: {
    codec: choice(LOG_FORMATS),
    default: 'text',
    section: 'Logging',
    doc: 'Error log format: readable lines (text) or one JSON object per line (json).',
  },
  accessLog: {
    codec: optionalPath(),
    default: null,
    section: 'Logging',
    doc: 'Access log file, "-" for standard output; off when unset. SIGUSR1 reopens it.',
  },
  accessLogFormat: {
    codec: accessLogFormatCodec,
    default: DEFAULT_ACCESS_LOG_FORMAT,
    section: 'Logging',
    doc: 'gunicorn\'s access log format (atoms like %(h)s %(r)s %(s)s, see README), or "json" for one JSON object per line.',
  },
});

/** The resolved settings, each declared once, above. */
export type ServerSettings = SettingsOf<typeof serverSettings>;

/**
 * The settings job workers (gantry run) have: the processes, their supervision, metrics and logs. The
 * rest are HTTP's (bind, limits, proxy trust, access log) and have no effect there.
 */
export const jobWorkerSettings = pickSettings(serverSettings, [
  'workers',
  'threads',
  'timeout',
  'bootTimeout',
  'gracefulTimeout',
  'maxWorkerMemory',
  'metricsBind',
  'reload',
  'pid',
  'logLevel',
  'logFormat',
]);

/** Problems between settings, which no single setting's codec can see. */
export function crossSettingProblems(settings: ServerSettings): string[] {
  const problems: string[] = [];
  const metrics = settings.metricsBind;
  if (metrics !== null && settings.bind.some((bind) => formatBind(bind) === formatBind(metrics))) {
    problems.push(`metricsBind (${formatBind(metrics)}) must not be one of the app's bind addresses`);
  }
  if (settings.reload && process.env.NODE_ENV === 'production') {
    problems.push('reload watches files for development: it is refused with NODE_ENV=production (reload with SIGHUP instead)');
  }
  if (settings.requestTimeout < settings.headerTimeout) {
    problems.push(`requestTimeout (${settings.requestTimeout} s) must be at least headerTimeout (${settings.headerTimeout} s)`);
  }
  return problems;
}
