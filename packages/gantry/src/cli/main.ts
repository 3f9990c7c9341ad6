/** The gantry command line: dispatch to a command, and turn what it throws into a message and an exit code. */
import { readFileSync } from 'node:fs';
import { type ExitCodeValue, ExitCode, GantryError } from '../errors.js';
import { useColor } from '../logger.js';
import { configCommand } from './config.js';
import { healthCommand } from './health.js';
import { mainHelp } from './command.js';
import { edgeCommand } from './edge.js';
import { runCommand } from './run.js';
import { serveCommand } from './serve.js';
import { stackCommand } from './stack.js';

const COMMANDS = [serveCommand, runCommand, stackCommand, edgeCommand, configCommand, healthCommand];
const MAIN_USAGE = mainHelp(COMMANDS);

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Prints a user mistake as one message (no stack), and an app failure or a bug with its stack. */
export function reportError(error: unknown): ExitCodeValue {
  const label = useColor() ? '\x1b[31merror\x1b[39m' : 'error';
  if (error instanceof GantryError) {
    process.stderr.write(`gantry: ${label}: ${error.message}\n`);
    if (error.showCause && error.cause instanceof Error && error.cause.stack) process.stderr.write(`${error.cause.stack}\n`);
    return error.exitCode;
  }
  process.stderr.write(`gantry: ${label}: unexpected failure, please report it:\n${(error as Error)?.stack ?? String(error)}\n`);
  return ExitCode.FAILURE;
}

export async function main(argv: readonly string[]): Promise<ExitCodeValue> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(MAIN_USAGE);
    return name === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`gantry ${version()}\n`);
    return ExitCode.OK;
  }
  const command = COMMANDS.find((c) => c.definition.name === name);
  if (!command) {
    process.stderr.write(`gantry: unknown command "${name}".\n${MAIN_USAGE}`);
    return ExitCode.USAGE;
  }
  try {
    return await command(rest, process.env, process.cwd());
  } catch (error) {
    return reportError(error);
  }
}
