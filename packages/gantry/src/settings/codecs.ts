/**
 * Codecs turn a setting's raw input (a string from the command line or the environment, or a value
 * from the config file) into its typed value, and back into text for `--print-config` and the docs.
 * A codec throws `InvalidValue` whose message completes the sentence "expected ...".
 */

export class InvalidValue extends Error {
  override readonly name = 'InvalidValue';
}

/** `T`: the setting's value; `In`: what a config file may write for it (typed config files, GantryConfig). */
export interface Codec<T, In = T> {
  /** What a valid value looks like, completing "expected ...": "an integer >= 1". */
  readonly expected: string;
  /** A placeholder for the docs and `--help`: INT, ADDRESS. */
  readonly meta: string;
  fromString(raw: string): T;
  /** A value from the config file: the typed value itself, or its string form. */
  fromValue(value: unknown): T;
  format(value: T): string;
  /** Type-level only: the config-file form. */
  readonly __input?: In;
}

function fail(expected: string): never {
  throw new InvalidValue(expected);
}

/** A codec whose config-file value must be a string, read as the command line reads it. */
export function stringOnly<T>(codec: Omit<Codec<T>, 'fromValue' | '__input'>): Codec<T, string> {
  return { ...codec, fromValue: (value) => (typeof value === 'string' ? codec.fromString(value) : fail(codec.expected)) };
}

/** A number: written as `pattern` on the command line, a number or such a string in the config file. */
function numeric(expected: string, meta: string, pattern: RegExp, accepts: (n: number) => boolean): Codec<number> {
  const check = (n: number) => (accepts(n) ? n : fail(expected));
  const fromString = (raw: string) => (pattern.test(raw.trim()) ? check(Number(raw)) : fail(expected));
  return {
    expected,
    meta,
    fromString,
    fromValue: (value) =>
      typeof value === 'number' ? check(value) : typeof value === 'string' ? fromString(value) : fail(expected),
    format: String,
  };
}

export function integer(options: { min?: number; max?: number } = {}): Codec<number> {
  const { min = -Infinity, max = Infinity } = options;
  const bounds = [min > -Infinity ? `>= ${min}` : '', max < Infinity ? `<= ${max}` : ''].filter(Boolean).join(' and ');
  const expected = `an integer${bounds ? ` ${bounds}` : ''}`;
  return numeric(expected, 'INT', /^-?\d+$/, (n) => Number.isInteger(n) && n >= min && n <= max);
}

/** Any finite number, decimals and exponents allowed: 8080, -1.5, 1e6. */
export function number(): Codec<number> {
  return numeric('a number', 'NUMBER', /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/, Number.isFinite);
}

/** A duration in seconds, decimals allowed: 30, 0.5. */
export function seconds(options: { min?: number } = {}): Codec<number> {
  const { min = 0 } = options;
  return numeric(`a number of seconds >= ${min}`, 'SECONDS', /^-?\d+(\.\d+)?$/, (n) => Number.isFinite(n) && n >= min);
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

/** Strict booleans: "false" is false (a classic `Boolean("false")` trap), "maybe" is an error. */
export function parseBoolean(raw: string): boolean | undefined {
  const word = raw.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
}

export function boolean(): Codec<boolean> {
  const expected = 'true or false (also 1/0, yes/no, on/off)';
  const fromString = (raw: string) => parseBoolean(raw) ?? fail(expected);
  return {
    expected,
    meta: 'BOOL',
    fromString,
    fromValue: (value) => (typeof value === 'boolean' ? value : typeof value === 'string' ? fromString(value) : fail(expected)),
    format: String,
  };
}

/** One of `values`; a config file writes one of them (typed as such). */
export function choice<const T extends string>(values: readonly T[]): Codec<T, T> {
  const expected = `one of ${values.join(', ')}`;
  return stringOnly<T>({
    expected,
    meta: values.join('|'),
    fromString: (raw): T => values.find((v) => v === raw.trim().toLowerCase()) ?? fail(expected),
    format: String,
  }) as Codec<T, T>;
}

/** A path or "-" for standard output, or null for "off". */
export function optionalPath(meta = 'PATH'): Codec<string | null> {
  return optionalText(meta, 'a file path');
}

/** A string, or null (an empty one) for "none". */
export function optionalText(meta: string, expected: string): Codec<string | null> {
  const fromString = (raw: string) => (raw.trim() === '' ? null : raw.trim());
  return {
    expected,
    meta,
    fromString,
    fromValue: (value) => (value === null ? null : typeof value === 'string' ? fromString(value) : fail(expected)),
    format: (value) => value ?? '(none)',
  };
}

/** A comma-separated list in a string; an array (or a single item) in the config file. */
export function list<T, In>(item: Codec<T, In>, options: { min?: number } = {}): Codec<T[], In | readonly In[]> {
  const { min = 0 } = options;
  const expected = `a comma-separated list of ${item.expected.replace(/^an? /, '')}${min > 0 ? ` (at least ${min})` : ''}`;
  const checkLength = (values: T[]) => (values.length >= min ? values : fail(expected));
  const fromString = (raw: string) =>
    checkLength(
      raw
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== '')
        .map((part) => item.fromString(part)),
    );
  return {
    expected,
    meta: `${item.meta}[,${item.meta}...]`,
    fromString,
    fromValue: (value) => {
      if (typeof value === 'string') return fromString(value);
      if (Array.isArray(value)) return checkLength(value.map((v) => item.fromValue(v)));
      return checkLength([item.fromValue(value)]);
    },
    format: (values) => values.map((v) => item.format(v)).join(','),
  };
}

/** Any string, as given (an app's configuration value: empty and padded ones included). */
export function anyString(): Codec<string, string> {
  return stringOnly<string>({ expected: 'a string', meta: 'TEXT', fromString: (raw) => raw, format: String });
}

/** A non-empty string: a path, a program name. */
export function text(meta = 'TEXT', expected = 'a non-empty string'): Codec<string, string> {
  return stringOnly<string>({
    expected,
    meta,
    fromString: (raw) => (raw.trim() === '' ? fail(expected) : raw.trim()),
    format: String,
  });
}

/** A URL path prefix: "" (off) or "/something" without a trailing slash. */
export function pathPrefix(): Codec<string, string> {
  const expected = 'a path starting with / (no trailing /), or an empty string for off';
  return stringOnly({
    expected,
    meta: 'PATH',
    fromString: (raw) => {
      const value = raw.trim();
      return value === '' || /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*[^/]$/.test(value) ? value : fail(expected);
    },
    format: (value) => (value === '' ? '(off)' : value),
  });
}
