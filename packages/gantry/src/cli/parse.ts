/** node:util parseArgs, with its errors turned into one clear usage error (exit 2). */
import { parseArgs } from 'node:util';
import { ErrorCode, ExitCode, GantryError } from '../errors.js';

export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  readonly positionals: readonly string[];
}

type Options = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

export function parseCommandLine(argv: readonly string[], options: Options, command: string): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { values, positionals };
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '.');
    throw new GantryError(ErrorCode.USAGE, `${message}\nRun \`gantry ${command} --help\` for usage.`, {
      exitCode: ExitCode.USAGE,
    });
  }
}
