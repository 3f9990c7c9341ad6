/** Resolving `gantry serve` settings (shared by serve, stack and health): config file, environment, flags. */
import { ErrorCode, GantryError, ProblemsError } from '../errors.js';
import { findConfigFile, loadConfigFile } from '../server/config-file.js';
import type { Hooks } from '../server/hooks.js';
import { PARENT_PID_ENV, WORKER_SETTINGS_ENV } from '../internal-env.js';
import { type ServerSettings, crossSettingProblems, serverSettings } from '../server/settings.js';
import { type Resolved, type SettingsInput, envName, resolveSettings, unknownEnvProblems } from '../settings/registry.js';
import { type StackSettings, stackSettings } from '../stack/settings.js';
import type { CommandLine, CommandOption } from './command.js';

/** --config, which every command that reads the server's settings takes (its doc is the command's). */
export const CONFIG_OPTION = { flag: 'config', short: 'c', meta: 'FILE' } as const satisfies Omit<CommandOption, 'doc'>;

/** Every GANTRY_* name gantry knows, so a typo in one is reported instead of ignored. */
export const KNOWN_ENV = new Set([
  ...Object.keys(serverSettings).map(envName),
  ...Object.keys(stackSettings).map(envName),
  'GANTRY_CONFIG',
  WORKER_SETTINGS_ENV,
  PARENT_PID_ENV,
]);

export interface ServeInputs {
  readonly resolved: Resolved<ServerSettings>;
  readonly hooks: Hooks;
  /** The config file read, absolute, if any. */
  readonly configFile: string | undefined;
  readonly app: string | undefined;
  /** The app's own arguments (after `--`). */
  readonly appArgs: readonly string[];
  /** The config file's settings, for the stack's and the edge's own settings (the same file serves both). */
  readonly fileValues?: { readonly path: string; readonly values: Readonly<Record<string, unknown>> } | undefined;
}

/** What resolving reads of a command line. */
export type ArgsForSettings = Pick<CommandLine, 'values' | 'positionals' | 'rest'>;

export function requireApp(app: string | undefined, command: string): string {
  if (app === undefined) {
    throw new GantryError(ErrorCode.USAGE, `Which app? Usage: gantry ${command} [options] <module>[:<export>]`);
  }
  return app;
}

/** Settings from defaults, the config file, the environment and the flags; `fresh` reads the file again (reload). */
export async function resolveServe(
  args: ArgsForSettings,
  env: NodeJS.ProcessEnv,
  cwd: string,
  fresh = false,
): Promise<ServeInputs> {
  const envProblems = unknownEnvProblems(env, KNOWN_ENV);
  if (envProblems.length > 0) throw new ProblemsError(ErrorCode.SETTINGS, 'Invalid settings', envProblems);
  const named = (args.values.config as string | undefined) ?? (env.GANTRY_CONFIG || undefined);
  const configFile = findConfigFile(named, cwd);
  const file = configFile ? await loadConfigFile(configFile, cwd, { fresh }) : undefined;
  const fileValues = file ? { path: file.path, values: file.values } : undefined;
  const resolved = resolveSettings(serverSettings, {
    env,
    flags: args.values,
    ...(fileValues ? { file: { ...fileValues, sharedWith: Object.keys(stackSettings) } } : {}),
  } satisfies SettingsInput);
  const problems = crossSettingProblems(resolved.values);
  if (problems.length > 0) throw new ProblemsError(ErrorCode.SETTINGS, 'Invalid settings', problems);
  if (args.positionals.length > 1) {
    throw new GantryError(ErrorCode.USAGE, `Expected one app, got ${args.positionals.length}: ${args.positionals.join(' ')}.`);
  }
  return { resolved, hooks: file?.hooks ?? {}, configFile, app: args.positionals[0], appArgs: args.rest, fileValues };
}

/** `gantry stack`'s and `gantry edge`'s own settings, from the same config file, environment and flags. */
export function resolveStack(args: ArgsForSettings, env: NodeJS.ProcessEnv, inputs: ServeInputs): Resolved<StackSettings> {
  const { fileValues } = inputs;
  return resolveSettings(stackSettings, {
    env,
    flags: args.values,
    ...(fileValues ? { file: { ...fileValues, sharedWith: Object.keys(serverSettings) } } : {}),
  });
}
