/**
 * Resolving an app's configuration from the environment, the seed's config/__init__.py done right:
 * - `APP_ENV` picks the profile (default Dev; case-insensitive; an unknown name is an error);
 * - each key is overridden by the variable of the same name, or by `<KEY>_FILE` naming a file whose
 *   contents are the value (Docker secrets); both at once is an error;
 * - an empty variable or file counts as unset (so `MSG=` in an env file does not blank a default);
 * - values are coerced to the type of the key's base value, booleans strictly;
 * - every problem is collected and reported at once; secret values never appear in any output.
 */
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { ErrorCode, ProblemsError } from '../errors.js';
import { type Codec, InvalidValue, anyString, boolean, number } from '../settings/codecs.js';
import { type AnySettings, type Primitive, type Settings, type TypeName, isRequired } from './define.js';

export const REDACTED = '[redacted]';

export type ValueSource =
  | { readonly kind: 'profile'; readonly profile: string }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'file'; readonly name: string; readonly path: string };

export interface ConfigEntry {
  readonly key: string;
  readonly type: TypeName;
  readonly secret: boolean;
  /** undefined when the key has no (valid) value. */
  readonly value: Primitive | undefined;
  readonly source: ValueSource | undefined;
}

export interface ConfigReport {
  readonly profile: string;
  /** How the profile was chosen: "APP_ENV" or "default". */
  readonly profileSource: string;
  readonly entries: readonly ConfigEntry[];
  readonly problems: readonly string[];
}

export interface LoadOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export function describeValueSource(source: ValueSource | undefined): string {
  if (source === undefined) return '(none)';
  if (source.kind === 'profile') return `profile ${source.profile}`;
  if (source.kind === 'env') return `env ${source.name}`;
  return `file ${source.path} (${source.name})`;
}

/** An app setting's value from its text (environment, secret file), by the type of its base value. */
const CODECS: { readonly [K in TypeName]: Codec<Primitive> } = { string: anyString(), number: number(), boolean: boolean() };

function coerce(raw: string, type: TypeName): Primitive | undefined {
  try {
    return CODECS[type].fromString(raw);
  } catch (error) {
    if (error instanceof InvalidValue) return undefined;
    throw error;
  }
}

/** A file's contents as a value: one trailing newline (as `echo` leaves) is not part of it. */
function readValueFile(path: string): string {
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
}

function pickProfile(settings: AnySettings, env: LoadOptions['env']): { name?: string; source: string; problem?: string } {
  const raw = env?.[settings.selector];
  if (raw === undefined || raw === '') return { name: settings.defaultProfile, source: 'default' };
  const names = Object.keys(settings.profiles);
  const name = names.find((candidate) => candidate.toLowerCase() === raw.trim().toLowerCase());
  if (name) return { name, source: settings.selector };
  return {
    source: settings.selector,
    problem: `${settings.selector}: ${JSON.stringify(raw)} is not a profile; expected one of ${names.join(', ')}`,
  };
}

/** Resolves every key, collecting problems instead of throwing: what `gantry config` prints. */
export function inspectConfig(settings: AnySettings, options: LoadOptions = {}): ConfigReport {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  const profile = pickProfile(settings, env);
  if (profile.problem) problems.push(profile.problem);

  const entries = settings.keys.map((key): ConfigEntry => {
    const type = settings.types[key] as TypeName;
    const secret = settings.secrets.has(key);
    const shown = (raw: string) => (secret ? `the value (${REDACTED})` : JSON.stringify(raw));
    let hasProblem = false;
    const problem = (message: string) => {
      hasProblem = true;
      problems.push(`${key}: ${message}`);
    };

    let value: Primitive | undefined;
    let source: ValueSource | undefined;
    if (profile.name !== undefined) {
      const own = settings.profiles[profile.name]?.[key];
      const inherited = settings.profiles['Base']?.[key];
      const chosen = own !== undefined ? own : inherited;
      if (chosen !== undefined && !isRequired(chosen)) {
        value = chosen as Primitive;
        source = { kind: 'profile', profile: own !== undefined ? profile.name : 'Base' };
      }
    }

    const fileName = `${key}_FILE`;
    const envRaw = env[key] === '' ? undefined : env[key];
    const filePath = env[fileName] === '' ? undefined : env[fileName];
    if (envRaw !== undefined && filePath !== undefined) {
      problem(`both ${key} and ${fileName} are set; set only one`);
    }
    let override: { raw: string; source: ValueSource } | undefined;
    if (filePath !== undefined) {
      try {
        const raw = readValueFile(filePath);
        if (raw !== '') override = { raw, source: { kind: 'file', name: fileName, path: filePath } };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'error';
        problem(`cannot read ${filePath} named by ${fileName} (${code})`);
      }
    } else if (envRaw !== undefined) {
      override = { raw: envRaw, source: { kind: 'env', name: key } };
    }
    if (override) {
      const coerced = coerce(override.raw, type);
      if (coerced === undefined) {
        problem(
          `${shown(override.raw)} from ${describeValueSource(override.source)} is not valid; expected ${CODECS[type].expected}`,
        );
        value = undefined;
        source = undefined;
      } else {
        value = coerced;
        source = override.source;
      }
    } else if (value === undefined && profile.name !== undefined && !hasProblem) {
      problem(`no value in profile ${profile.name}; set ${key} or ${fileName}`);
    }
    return { key, type, secret, value, source };
  });

  return { profile: profile.name ?? '(none)', profileSource: profile.source, entries, problems };
}

/** A value for display: secrets redacted, a password inside a URL masked. */
export function displayValue(entry: ConfigEntry): string {
  if (entry.value === undefined) return '(unset)';
  if (entry.secret) return REDACTED;
  return typeof entry.value === 'string' ? maskUrlPassword(entry.value) : String(entry.value);
}

/**
 * `postgres://user:pw@host/db` -> `postgres://user:***@host/db`; other strings unchanged. The password
 * runs to the last `@` that is followed by a host, so one with `/ ? # @` in it (unencoded, as people
 * write them) is masked whole. An `@` in a query may make it hide more than the password, never less.
 */
export function maskUrlPassword(value: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(value);
  if (!scheme) return value;
  const start = scheme[0].length;
  let at = -1;
  for (let i = value.indexOf('@', start); i >= 0; i = value.indexOf('@', i + 1)) {
    if (/^[A-Za-z0-9.\-_~%[\]:]+(?:[/?#]|$)/.test(value.slice(i + 1))) at = i;
  }
  const colon = value.indexOf(':', start);
  if (at < 0 || colon < 0 || colon > at) return value;
  return colon + 1 === at ? value : `${value.slice(0, colon + 1)}***${value.slice(at)}`;
}

export class ConfigError extends ProblemsError {
  constructor(profile: string, problems: readonly string[]) {
    super(ErrorCode.APP_CONFIG, `Invalid configuration for profile ${profile}`, problems);
  }
}

/**
 * The resolved values, typed, frozen. Secrets are read like any key (`config.DB_PASSWORD`) but are not
 * enumerable, and serialising or inspecting the object shows them as [redacted].
 */
export type Config<V extends object> = Readonly<V>;

/** Resolves the configuration for the current environment, or throws a ConfigError listing every problem. */
export function loadConfig<V extends object>(settings: Settings<V, string>, options: LoadOptions = {}): Config<V> {
  const report = inspectConfig(settings, options);
  if (report.problems.length > 0) throw new ConfigError(report.profile, report.problems);
  const values: Record<string, Primitive> = {};
  const safe: Record<string, Primitive> = {};
  for (const entry of report.entries) {
    // A secret is not enumerable: a logger merging the object, a spread or Object.entries never sees it.
    Object.defineProperty(values, entry.key, { value: entry.value, enumerable: !entry.secret });
    safe[entry.key] = entry.secret ? REDACTED : (entry.value as Primitive);
  }
  Object.defineProperties(values, {
    toJSON: { value: () => ({ ...safe }) },
    [inspect.custom]: { value: () => ({ ...safe }) },
  });
  return Object.freeze(values) as unknown as Config<V>;
}
