/**
 * The server's config file (gunicorn_config.py's counterpart): `gantry.config.ts` or `.js`, whose default
 * export is a plain object of settings (typed by GantryConfig, src/gantry-config.ts). Unknown keys are
 * errors (gunicorn silently skips them).
 */
import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { ErrorCode, GantryError, ProblemsError, describeError } from '../errors.js';
import { importFile } from '../module-loader.js';
import { type Hooks, hookProblems } from './hooks.js';

export const DEFAULT_CONFIG_FILES = ['gantry.config.js', 'gantry.config.mjs', 'gantry.config.ts', 'gantry.config.mts'];

/** The config file to read: the one named, else the first default file present in `cwd`, else none. */
export function findConfigFile(named: string | undefined, cwd: string): string | undefined {
  if (named !== undefined) {
    const file = resolve(cwd, named);
    if (!existsSync(file)) {
      throw new GantryError(ErrorCode.CONFIG_FILE, `Cannot find the config file ${named} (no such file ${file}).`);
    }
    return file;
  }
  return DEFAULT_CONFIG_FILES.map((name) => resolve(cwd, name)).find((file) => existsSync(file));
}

export interface LoadedConfigFile {
  /** As given or found, relative to cwd, for messages. */
  readonly path: string;
  /** The settings it sets (everything but `hooks`), for the registry to check. */
  readonly values: Readonly<Record<string, unknown>>;
  readonly hooks: Hooks;
}

export async function loadConfigFile(file: string, cwd: string, options: { fresh?: boolean } = {}): Promise<LoadedConfigFile> {
  const path = relative(cwd, file) || file;
  let namespace: Record<string, unknown>;
  try {
    namespace = await importFile(file, cwd, options);
  } catch (error) {
    if (error instanceof GantryError) throw new GantryError(ErrorCode.CONFIG_FILE, error.message);
    throw new GantryError(ErrorCode.CONFIG_FILE, `The config file ${path} failed to load: ${describeError(error)}`, {
      cause: error,
      showCause: true,
    });
  }
  const config = namespace.default;
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new GantryError(
      ErrorCode.CONFIG_FILE,
      `The config file ${path} must export an object as default: export default defineConfig({ workers: 2 }).`,
    );
  }
  const { hooks, ...values } = config as Record<string, unknown>;
  const problems = hookProblems(hooks, path);
  if (problems.length > 0) throw new ProblemsError(ErrorCode.SETTINGS, 'Invalid settings', problems);
  return { path, values, hooks: (hooks as Hooks | undefined) ?? {} };
}
