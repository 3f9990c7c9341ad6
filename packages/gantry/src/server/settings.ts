/**
 * Every `gantry serve` setting, declared once. The flag (--graceful-timeout), the environment variable
 * (GANTRY_GRACEFUL_TIMEOUT) and the config-file key (gracefulTimeout) are derived from the key.
 */
import { choice, integer, list, optionalPath, seconds } from '../settings/codecs.js';
import type { Registry } from '../settings/registry.js';
import { type BindAddress, bindCodec, parseBind } from './bind.js';
import { allowedAddressCodec, headerMapCodec } from './proxy.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface ServerSettings {
  bind: BindAddress[];
  workers: number;
  threads: number;
  gracefulTimeout: number;
  keepAlive: number;
  forwardedAllowIps: string[];
  secureSchemeHeaders: Record<string, string>;
  pid: string | null;
  logLevel: LogLevel;
  logFormat: LogFormat;
  accessLog: string | null;
}

export const serverSettings = {
  bind: {
    codec: list(bindCodec, { min: 1 }),
    default: [parseBind('127.0.0.1:8000')],
    section: 'Server socket',
    doc: 'Address to listen on; repeat the flag (or separate with commas) to listen on several.',
    short: 'b',
    repeatable: true,
  },
  workers: {
    codec: integer({ min: 1, max: 1024 }),
    default: 2,
    section: 'Worker processes',
    doc: 'Number of worker processes, each running the app on its own event loop.',
    short: 'w',
  },
  threads: {
    codec: integer({ min: 1, max: 1024 }),
    default: 1,
    section: 'Worker processes',
    doc: "Size of each worker's thread pool for CPU-heavy work (Node serves requests on one thread).",
  },
  gracefulTimeout: {
    codec: seconds(),
    default: 30,
    section: 'Worker processes',
    doc: 'On stop or reload, how long in-flight requests may run before their worker is killed.',
  },
  keepAlive: {
    codec: seconds({ min: 1 }),
    default: 65,
    section: 'Server socket',
    doc: "Idle keep-alive timeout; keep it above the proxy's upstream keepalive_timeout (nginx: 60 s).",
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
    doc: 'Access log file, "-" for standard output; off when unset.',
  },
} satisfies Registry<ServerSettings>;
