/**
 * Imports the user's modules (the app, the config file) by file path or package name.
 *
 * TypeScript files are for development: through tsx when the project has it, else Node.js's own type
 * stripping (v22.18+). In production, serve the compiled .js.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ErrorCode, GantryError } from './errors.js';

const TYPESCRIPT_EXTENSIONS = new Set(['.ts', '.mts', '.cts']);
const LOADABLE_EXTENSIONS = new Set(['.js', '.mjs', '.cjs', ...TYPESCRIPT_EXTENSIONS]);

let typescriptReady: Promise<void> | undefined;

function looksLikePath(specifier: string): boolean {
  return (
    specifier.startsWith('.') || isAbsolute(specifier) || LOADABLE_EXTENSIONS.has(extname(specifier)) || specifier.includes('\\')
  );
}

/** The absolute file a specifier names, relative to `cwd`, or a GANTRY_ERR_APP_NOT_FOUND error. */
export function resolveModule(specifier: string, cwd: string, what = 'module'): string {
  if (looksLikePath(specifier)) {
    const file = resolve(cwd, specifier);
    if (!existsSync(file)) {
      throw new GantryError(ErrorCode.APP_NOT_FOUND, `Cannot find the ${what} ${specifier}: no such file ${file}.`, {});
    }
    const extension = extname(file);
    if (!LOADABLE_EXTENSIONS.has(extension)) {
      throw new GantryError(
        ErrorCode.APP_NOT_FOUND,
        `Cannot load the ${what} ${specifier}: expected a .js, .mjs, .cjs or .ts file, got "${extension || 'no extension'}".`,
      );
    }
    return file;
  }
  try {
    return createRequire(resolve(cwd, 'noop.js')).resolve(specifier);
  } catch (error) {
    throw new GantryError(
      ErrorCode.APP_NOT_FOUND,
      `Cannot find the ${what} ${specifier}: no such package is installed for ${cwd}. ` +
        'A file path must start with ./ or /, or end in .js or .ts.',
      { cause: error },
    );
  }
}

function nativeTypescript(): boolean {
  return Boolean((process.features as { typescript?: unknown }).typescript);
}

/**
 * tsx's ESM loader API (`tsx/esm/api`, import condition), installed for the project (found from `cwd`)
 * or beside gantry. Read from tsx's exports map: require.resolve would pick the CommonJS build.
 */
function findTsxApi(cwd: string): string | undefined {
  for (const base of [resolve(cwd, 'noop.js'), fileURLToPath(import.meta.url)]) {
    try {
      const manifest = createRequire(base).resolve('tsx/package.json');
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
        exports?: Record<string, { import?: string | { default?: string } }>;
      };
      const entry = pkg.exports?.['./esm/api']?.import;
      const target = typeof entry === 'string' ? entry : entry?.default;
      if (target) return join(dirname(manifest), target);
    } catch {
      // Not installed there: try the next place.
    }
  }
  return undefined;
}

/**
 * TypeScript for development. tsx, when the project has it, is preferred: it resolves `./x.js` imports
 * to `x.ts` files as tsc does, which Node's own type stripping (v22.18+) does not. Without tsx, Node's
 * type stripping runs the file (relative imports must then name the `.ts` file).
 */
async function enableTypescript(file: string, cwd: string): Promise<void> {
  typescriptReady ??= (async () => {
    const api = findTsxApi(cwd);
    if (api) {
      const { register } = (await import(pathToFileURL(api).href)) as { register: () => unknown };
      register();
      return;
    }
    if (nativeTypescript()) return;
    typescriptReady = undefined;
    throw new GantryError(
      ErrorCode.TYPESCRIPT_UNSUPPORTED,
      `Cannot load ${file}: Node.js ${process.version} cannot run TypeScript by itself (it can from v22.18). ` +
        'For development, install tsx (npm install --save-dev tsx); in production, build with tsc and serve the .js file.',
    );
  })();
  await typescriptReady;
}

/** Imports a resolved file. `fresh` bypasses the module cache, so a reload reads the file again. */
export async function importFile(file: string, cwd: string, options: { fresh?: boolean } = {}): Promise<Record<string, unknown>> {
  if (TYPESCRIPT_EXTENSIONS.has(extname(file))) await enableTypescript(file, cwd);
  const url = pathToFileURL(file);
  if (options.fresh) url.searchParams.set('gantry-reload', String(Date.now()));
  return (await import(url.href)) as Record<string, unknown>;
}
