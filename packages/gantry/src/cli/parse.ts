/** node:util parseArgs, with its errors turned into one clear usage error (exit 2). */
import { parseArgs } from 'node:util';
import { ErrorCode, GantryError } from '../errors.js';

export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  readonly positionals: readonly string[];
  /** What follows `--`: the app's own arguments. */
  readonly rest?: readonly string[];
}

type Options = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

export function parseCommandLine(argv: readonly string[], options: Options, command: string): ParsedArgs {
  try {
    const dash = argv.indexOf('--');
    const own = dash < 0 ? argv : argv.slice(0, dash);
    const { values, positionals } = parseArgs({ args: [...own], options, allowPositionals: true, strict: true });
    return { values, positionals, rest: dash < 0 ? [] : argv.slice(dash + 1) };
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '.');
    throw new GantryError(ErrorCode.USAGE, `${message}\nRun \`gantry ${command} --help\` for usage.`);
  }
}
