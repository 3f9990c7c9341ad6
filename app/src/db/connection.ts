/**
 * How the app connects to PostgreSQL (node-postgres), and what a failure to reach it means. The same
 * options serve the web workers' pools, the migrations and the start-up check.
 */
import type pg from 'pg';

export interface ConnectionConfig {
  readonly DB_CONNECTION_STRING: string;
  readonly DB_PASSWORD: string;
  readonly DB_POOL_MAX: number;
  readonly DB_CONNECT_TIMEOUT_MS: number;
  readonly DB_STATEMENT_TIMEOUT_MS: number;
}

/**
 * The URL with DB_PASSWORD as its password when that is set (node-postgres lets a URL's password win
 * over an option, so the URL itself carries it). TLS comes from the URL's sslmode (README).
 */
function connectionString({ DB_CONNECTION_STRING, DB_PASSWORD }: ConnectionConfig): string {
  let url: URL;
  try {
    url = new URL(DB_CONNECTION_STRING);
  } catch {
    throw new Error('DB_CONNECTION_STRING is not a URL (expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`DB_CONNECTION_STRING must be a postgres:// URL, not ${url.protocol}//...`);
  }
  if (DB_PASSWORD !== '') url.password = encodeURIComponent(DB_PASSWORD);
  return url.href;
}

export function connectionOptions(config: ConnectionConfig): pg.PoolConfig {
  return {
    connectionString: connectionString(config),
    max: config.DB_POOL_MAX,
    // Without it a request would wait for a connection forever while the database is away.
    connectionTimeoutMillis: config.DB_CONNECT_TIMEOUT_MS,
    statement_timeout: config.DB_STATEMENT_TIMEOUT_MS,
    // The server cancels a slow statement; this ends a wait on a connection whose server is gone
    // without a word (a partition, a frozen host), which TCP alone would notice only after minutes.
    query_timeout: config.DB_STATEMENT_TIMEOUT_MS + 1000,
    keepAlive: true,
    idleTimeoutMillis: 10_000,
    application_name: 'gantry-example',
  };
}

/** Where the URL points, for messages (never its password). */
export function describeTarget(config: ConnectionConfig): string {
  const url = new URL(connectionString(config));
  return `${decodeURIComponent(url.username) || '(no user)'}@${url.hostname}:${url.port || 5432}${url.pathname}`;
}

/** Errors that mean "the database is not reachable now" (try again later), not "this request is wrong". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);
/**
 * SQLSTATEs of the same: connection exceptions (08...), shutdown and start-up (57P0x), too many clients,
 * a query cancelled by statement_timeout (overload), a read-only server (a failover under way).
 */
const UNAVAILABLE_STATES = /^(08|57P0[1-3]|53300|57014|25006)/;
const UNREACHABLE_MESSAGES =
  /timeout exceeded when trying to connect|Query read timeout|Connection terminated|Client has encountered a connection error|Cannot use a pool after calling end|the database system is (starting up|shutting down)/i;

/** A database call failed because the database is not usable now: answered 503 with Retry-After. */
export class DatabaseUnavailable extends Error {
  constructor(cause: unknown) {
    super(`the database is unavailable: ${describeDatabaseError(cause)}`, { cause });
  }
}

/**
 * Runs a database call, turning "unreachable now" into DatabaseUnavailable. Only database calls are
 * classified: a client's own reset (ECONNRESET on its upload) must not pass for the database's.
 */
export async function usingDatabase<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw isDatabaseUnavailable(error) ? new DatabaseUnavailable(error) : error;
  }
}

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code } = error as { code?: unknown };
  if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || UNAVAILABLE_STATES.test(code))) return true;
  if (error instanceof AggregateError) return error.errors.some(isDatabaseUnavailable);
  return UNREACHABLE_MESSAGES.test(error.message);
}

const EXPLANATIONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused: is the database running, and on that port?',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve (yet)',
  ETIMEDOUT: 'no answer from the host',
  EHOSTUNREACH: 'the host is unreachable',
  '28P01': 'the password was refused',
  '28000': 'the role may not connect (pg_hba.conf) or does not exist',
  '3D000': 'the database does not exist',
  '42501': 'the role lacks a permission',
  '53300': 'the server has too many connections',
  '57P03': 'the server is starting up or shutting down',
};

/** One line for a person: what failed and, where known, why. */
export function describeDatabaseError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describeDatabaseError(error.errors[0]);
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const why = typeof code === 'string' ? EXPLANATIONS[code] : undefined;
  const message = error.message || (typeof code === 'string' ? code : 'unknown error');
  return why ? `${message} (${why})` : message;
}
