/**
 * Declaring an app's configuration: the seed's BaseConfig / DevConfig / ProductionConfig, typed.
 *
 *   export const settings = defineSettings({
 *     base: { DB_CONNECTION_STRING: 'BASE DB STRING', MSG: 'Inside BASE CONFIG' },
 *     profiles: {
 *       Dev: { DB_CONNECTION_STRING: 'DEV DB STRING', MSG: 'Inside DEV CONFIG' },
 *       Production: { DB_CONNECTION_STRING: required('string'), MSG: 'Inside PRODUCTION CONFIG' },
 *     },
 *     secrets: ['DB_CONNECTION_STRING'],
 *   });
 *
 * Each profile inherits `base` (the class hierarchy of the seed). A key's type is its base value's type.
 */

export type Primitive = string | number | boolean;
export type TypeName = 'string' | 'number' | 'boolean';
type TypeOf<N extends TypeName> = N extends 'string' ? string : N extends 'number' ? number : boolean;

const unsetKind = 'gantry.config.required';

/** A key with no value: it must come from the environment (or a profile's override). */
export interface Required<T extends Primitive> {
  readonly kind: typeof unsetKind;
  readonly type: TypeName;
  /** Type-level only: the value's type. */
  readonly __type?: T;
}

/** Declares a key without a default: `required('string')`. */
export function required<N extends TypeName>(type: N): Required<TypeOf<N>> {
  return { kind: unsetKind, type };
}

export function isRequired(value: unknown): value is Required<Primitive> {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === unsetKind;
}

type Widen<T> = T extends string ? string : T extends number ? number : T extends boolean ? boolean : never;

export type Shape = Record<string, Primitive | Required<Primitive>>;

/** The typed values a shape describes: `{ MSG: 'x', PORT: required('number') }` -> `{ MSG: string; PORT: number }`. */
export type Values<S extends Shape> = { readonly [K in keyof S]: S[K] extends Required<infer T> ? T : Widen<S[K]> };

/** A profile may override any key with a value of the same type, or make it required there. */
export type ProfileOverrides<S extends Shape> = { readonly [K in keyof S]?: Values<S>[K] | Required<Values<S>[K]> };

export interface SettingsDefinition<S extends Shape, P extends string> {
  /** Every key with its default (or `required(type)`): the seed's BaseConfig. */
  readonly base: S;
  /** Named profiles, each overriding some keys of `base`. "Base" itself is a profile too. */
  readonly profiles: { readonly [Name in P]: ProfileOverrides<S> };
  /** Keys whose values are never printed: redacted in `gantry config`, logs and error messages. */
  readonly secrets?: readonly (keyof S & string)[];
  /** The profile used when the selector variable is unset. Default: "Dev" if there is one, else "Base". */
  readonly defaultProfile?: NoInfer<P> | 'Base';
  /** The environment variable that picks the profile. Default: APP_ENV. */
  readonly selector?: string;
}

const settingsBrand = Symbol.for('gantry.config.settings');

export interface Settings<V extends object, P extends string = string> {
  readonly [settingsBrand]: true;
  readonly keys: readonly (keyof V & string)[];
  readonly types: { readonly [K in keyof V]: TypeName };
  /** Each profile's own values, without inheritance; "Base" included. */
  readonly profiles: { readonly [Name in P | 'Base']: { readonly [K in keyof V]?: unknown } };
  readonly secrets: ReadonlySet<string>;
  readonly defaultProfile: P | 'Base';
  readonly selector: string;
}

export type AnySettings = Settings<Record<string, Primitive>, string>;

export function isSettings(value: unknown): value is AnySettings {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[settingsBrand] === true;
}

function typeName(value: Primitive | Required<Primitive>): TypeName {
  return isRequired(value) ? value.type : (typeof value as TypeName);
}

/** Checks the definition (a programmer's mistake throws at once) and freezes it. */
export function defineSettings<S extends Shape, const P extends string>(
  definition: SettingsDefinition<S, P>,
): Settings<Values<S>, P> {
  const { base, profiles, secrets = [], selector = 'APP_ENV' } = definition;
  const keys = Object.keys(base);
  const types = Object.fromEntries(keys.map((key) => [key, typeName(base[key] as Primitive)])) as Record<string, TypeName>;
  const names = Object.keys(profiles);
  const mistakes: string[] = [];
  for (const key of keys) {
    if (!['string', 'number', 'boolean'].includes(types[key] as string)) mistakes.push(`${key}: unsupported type`);
  }
  for (const [name, overrides] of Object.entries<Record<string, unknown>>(profiles)) {
    if (name === 'Base') mistakes.push('"Base" is the base profile; declare its values in `base`');
    for (const [key, value] of Object.entries(overrides)) {
      if (!(key in base)) mistakes.push(`profile ${name} sets ${key}, which base does not declare`);
      else if (typeName(value as Primitive) !== types[key]) {
        mistakes.push(`profile ${name} sets ${key} to a ${typeName(value as Primitive)}; base declares a ${types[key]}`);
      }
    }
  }
  for (const key of secrets) if (!(key in base)) mistakes.push(`secret ${key} is not declared in base`);
  const defaultProfile = definition.defaultProfile ?? (names.includes('Dev') ? 'Dev' : 'Base');
  if (defaultProfile !== 'Base' && !names.includes(defaultProfile))
    mistakes.push(`defaultProfile ${defaultProfile} is not a profile`);
  if (mistakes.length > 0) throw new TypeError(`defineSettings: ${mistakes.join('; ')}`);

  return Object.freeze({
    [settingsBrand]: true as const,
    keys,
    types,
    profiles: Object.freeze({ Base: base, ...profiles }),
    secrets: new Set<string>(secrets),
    defaultProfile,
    selector,
  }) as unknown as Settings<Values<S>, P>;
}
