/** Resolving `gantry serve` settings (shared by serve, stack and health): config file, environment, flags. */
import { ErrorCode, ExitCode, GantryError, ProblemsError } from '../errors.js';
import { findConfigFile, loadConfigFile } from '../server/config-file.js';
import type { Hooks } from '../server/hooks.js';
import { PARENT_PID_ENV, WORKER_SETTINGS_ENV } from '../internal-env.js';
import { type ServerSettings, crossSettingProblems, serverSettings } from '../server/settings.js';
import { type Resolved, type SettingsInput, envName, resolveSettings, unknownEnvProblems } from '../settings/registry.js';
import { stackSettings } from '../stack/settings.js';
import type { ParsedArgs } from './parse.js';

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
}

/** Settings from defaults, the config file, the environment and the flags; `fresh` reads the file again (reload). */
export async function resolveServe(args: ParsedArgs, env: NodeJS.ProcessEnv, cwd: string, fresh = false): Promise<ServeInputs> {
  const envProblems = unknownEnvProblems(env, KNOWN_ENV);
  if (envProblems.length > 0) throw new ProblemsError(ErrorCode.SETTINGS, 'Invalid settings', envProblems);
  const named = (args.values.config as string | undefined) ?? (env.GANTRY_CONFIG || undefined);
  const configFile = findConfigFile(named, cwd);
  const file = configFile ? await loadConfigFile(configFile, cwd, { fresh }) : undefined;
  const resolved = resolveSettings(serverSettings, {
    env,
    flags: args.values,
    ...(file ? { file } : {}),
  } satisfies SettingsInput);
  const problems = crossSettingProblems(resolved.values);
  if (problems.length > 0) throw new ProblemsError(ErrorCode.SETTINGS, 'Invalid settings', problems);
  if (args.positionals.length > 1) {
    throw new GantryError(ErrorCode.USAGE, `Expected one app, got ${args.positionals.length}: ${args.positionals.join(' ')}.`, {
      exitCode: ExitCode.USAGE,
    });
  }
  return { resolved, hooks: file?.hooks ?? {}, configFile, app: args.positionals[0] };
}
