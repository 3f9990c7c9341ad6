/**
 * A settings registry declares each setting once; from it come the command-line flags, the
 * GANTRY_* environment variables, the config-file keys, `--print-config` and the README table.
 * Precedence, lowest first: default < config file < environment < command line.
 */
import { ErrorCode, ProblemsError } from '../errors.js';
import { type Codec, InvalidValue } from './codecs.js';
import { closest } from './suggest.js';

export interface SettingSpec<T, In = T> {
  readonly codec: Codec<T, In>;
  readonly default: T;
  /** A heading for `--help` and the docs: "Server socket", "Worker processes". */
  readonly section: string;
  /** One sentence for `--help` and the docs. */
  readonly doc: string;
  /** A one-letter alias: "w" for -w. */
  readonly short?: string;
  /** The flag may be given more than once; in the environment, a comma-separated list. */
  readonly repeatable?: boolean;
}

/** A registry for settings S: one spec per key, so a setting cannot be declared without docs and a default. */
export type Registry<S> = { readonly [K in keyof S]-?: SettingSpec<S[K], unknown> };

type CodecValue<C> = C extends Codec<infer T, unknown> ? T : never;
type CodecInput<C> = C extends { readonly __input?: infer In } ? Exclude<In, undefined> : never;
type AnySpecs = Record<string, { readonly codec: Codec<never, unknown> | Codec<unknown, unknown>; readonly default: unknown }>;

/**
 * Declares a registry. Each setting is written once, here: its value type is its codec's (and its
 * default must be one), and the types of the resolved settings and of a config file derive from it.
 */
export function defineRegistry<R extends AnySpecs>(registry: R & Specs<R>): Specs<R> {
  return registry;
}

/** The part of a registry a command uses (gantry run: the server's settings that job workers have). */
export function pickSettings<R extends object, K extends keyof R>(registry: R, keys: readonly K[]): Pick<R, K> {
  return Object.fromEntries(keys.map((key) => [key, registry[key]])) as Pick<R, K>;
}

/** Each spec typed by its codec: the value type, and the config-file form. */
type Specs<R extends AnySpecs> = { readonly [K in keyof R]: SettingSpec<CodecValue<R[K]['codec']>, CodecInput<R[K]['codec']>> };

type AnyRegistry = Readonly<Record<string, SettingSpec<never, unknown> | SettingSpec<unknown, unknown>>>;
type SpecValue<S> = S extends SettingSpec<infer T, unknown> ? T : never;
type SpecInput<S> = S extends SettingSpec<unknown, infer In> ? In : S extends SettingSpec<never, infer In> ? In : never;

/** The resolved settings a registry describes: `{ workers: number; bind: BindAddress[]; ... }`. */
export type SettingsOf<R extends AnyRegistry> = { -readonly [K in keyof R]: SpecValue<R[K]> };

/** What a config file may write for each setting of a registry: the typed value or the CLI's string. */
export type ConfigInputOf<R extends AnyRegistry> = { -readonly [K in keyof R]?: SpecInput<R[K]> };

export type Source =
  | { readonly kind: 'default' }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'flag'; readonly name: string };

export interface Resolved<S> {
  readonly values: S;
  readonly sources: { readonly [K in keyof S]: Source };
}

export interface SettingsInput {
  /**
   * The config file's values, keyed like the settings (camelCase). `sharedWith`: keys that belong to
   * another registry reading the same file (gantry serve's and gantry stack's), not unknown here.
   */
  readonly file?: {
    readonly path: string;
    readonly values: Readonly<Record<string, unknown>>;
    readonly sharedWith?: readonly string[];
  };
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Parsed command-line values keyed by flag name without dashes (what node:util parseArgs returns). */
  readonly flags?: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
}

export const ENV_PREFIX = 'GANTRY_';

export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** A boolean setting is a switch on the command line: `--name`, and `--no-name` to turn it off. */
export function isBooleanSetting(spec: SettingSpec<unknown>): boolean {
  return spec.codec.meta === 'BOOL';
}

export function envName(key: string): string {
  return ENV_PREFIX + flagName(key).replace(/-/g, '_').toUpperCase();
}

export function describeSource(source: Source): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'file':
      return `config file ${source.path}`;
    case 'env':
      return `env ${source.name}`;
    case 'flag':
      return `flag --${source.name}`;
  }
}

function quote(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** The node:util parseArgs options for a registry's flags. */
export function parseArgsOptions<S>(
  registry: Registry<S>,
): Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [key, spec] of Object.entries<SettingSpec<unknown>>(registry)) {
    const isBoolean = isBooleanSetting(spec);
    options[flagName(key)] = {
      type: isBoolean ? 'boolean' : 'string',
      ...(spec.repeatable ? { multiple: true } : {}),
      ...(spec.short ? { short: spec.short } : {}),
    };
    // A boolean flag is true by its presence; --no-<flag> sets it false.
    if (isBoolean) options[`no-${flagName(key)}`] = { type: 'boolean' };
  }
  return options;
}

/** Problems with GANTRY_* variables that no registry knows: a typo must not pass silently. */
export function unknownEnvProblems(env: Readonly<Record<string, string | undefined>>, known: ReadonlySet<string>): string[] {
  return Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && !known.has(name))
    .map((name) => {
      const hint = closest(name, [...known]);
      return `${name} is not a gantry setting${hint ? `; did you mean ${hint}?` : ''}`;
    });
}

export function resolveSettings<S>(registry: Registry<S>, input: SettingsInput, title = 'Invalid settings'): Resolved<S> {
  const specs = Object.entries<SettingSpec<unknown>>(registry);
  const values: Record<string, unknown> = {};
  const sources: Record<string, Source> = {};
  const problems: string[] = [];

  if (input.file) {
    const known = specs.map(([key]) => key);
    for (const key of Object.keys(input.file.values)) {
      if (!(key in registry) && !input.file.sharedWith?.includes(key)) {
        const hint = closest(key, known);
        problems.push(`${key} (config file ${input.file.path}) is not a setting${hint ? `; did you mean ${hint}?` : ''}`);
      }
    }
  }

  for (const [key, spec] of specs) {
    let value = spec.default;
    let source: Source = { kind: 'default' };
    const attempt = (raw: unknown, from: Source, decode: () => unknown) => {
      try {
        value = decode();
        source = from;
      } catch (error) {
        if (!(error instanceof InvalidValue)) throw error;
        problems.push(`${key}: ${quote(raw)} from ${describeSource(from)} is not valid; expected ${error.message}`);
      }
    };

    const fileValue = input.file?.values[key];
    if (input.file && fileValue !== undefined) {
      attempt(fileValue, { kind: 'file', path: input.file.path }, () => spec.codec.fromValue(fileValue));
    }
    const env = envName(key);
    const envValue = input.env?.[env];
    if (envValue !== undefined && envValue !== '') {
      attempt(envValue, { kind: 'env', name: env }, () => spec.codec.fromString(envValue));
    }
    const flag = flagName(key);
    const flagValue = input.flags?.[flag] ?? (input.flags?.[`no-${flag}`] === true ? false : undefined);
    if (flagValue !== undefined) {
      const raws = Array.isArray(flagValue) ? flagValue : [flagValue];
      attempt(raws.join(','), { kind: 'flag', name: flag }, () =>
        typeof flagValue === 'boolean' ? flagValue : spec.codec.fromString(raws.join(',')),
      );
    }
    values[key] = value;
    sources[key] = source;
  }

  if (problems.length > 0) throw new ProblemsError(ErrorCode.SETTINGS, title, problems);
  return { values: values as S, sources: sources as Resolved<S>['sources'] };
}

/** Every setting's value and where it came from, one `name = value  # source` line each. */
export function formatResolved<S>(registry: Partial<Registry<S>>, resolved: Resolved<S>): string {
  const rows = Object.entries(registry as Record<string, SettingSpec<unknown>>).map(([key, spec]) => {
    const value = spec.codec.format(resolved.values[key as keyof S]);
    return [flagName(key), value, describeSource(resolved.sources[key as keyof S])] as const;
  });
  const width = Math.max(...rows.map(([name, value]) => name.length + value.length));
  return rows.map(([name, value, source]) => `${name} = ${value}`.padEnd(width + 4) + `# ${source}`).join('\n');
}
