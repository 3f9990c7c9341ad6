/**
 * One shape for every gantry command: its options (settings registries and the command's own), its help
 * generated from them, and its usage errors, so that no command parses or documents itself by hand.
 */
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { type ExitCodeValue, ErrorCode, ExitCode, GantryError } from '../errors.js';
import { type Registry, type SettingSpec, envName, flagName, isBooleanSetting, parseArgsOptions } from '../settings/registry.js';
import { formatTable } from './table.js';

/** An option that is not a setting: it exists on the command line only. */
export interface CommandOption {
  readonly flag: string;
  readonly short?: string;
  /** What the value is (FILE, DIR, SECONDS); a flag without one is a boolean. */
  readonly meta?: string;
  readonly doc: string;
}

type Values = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

export interface CommandLine {
  readonly values: Values;
  readonly positionals: readonly string[];
  /** What follows `--`: the app's own arguments. */
  readonly rest: readonly string[];
  /** The tokens before `--` as given, and where each option and positional came from in them. */
  readonly given: readonly string[];
  readonly tokens: readonly ArgToken[];
}

export type ArgToken = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];

export interface CommandDefinition {
  readonly name: string;
  /** What follows `gantry <name>` in the synopsis, e.g. `[options] <module>[:<export>]`. */
  readonly synopsis: string;
  /** One line for `gantry --help`. */
  readonly summary: string;
  readonly description: string;
  /** Settings accepted as flags; each is also a GANTRY_* variable and a config-file key. */
  readonly settings?: readonly Registry<unknown>[];
  /** The registries the help lists, when not all of `settings` (edge accepts the server's, lists only its own). */
  readonly documented?: readonly Registry<unknown>[];
  readonly options: readonly CommandOption[];
  run(line: CommandLine, env: NodeJS.ProcessEnv, cwd: string): Promise<ExitCodeValue>;
}

export interface Command {
  readonly definition: CommandDefinition;
  (argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<ExitCodeValue>;
}

const HELP: CommandOption = { flag: 'help', short: 'h', doc: 'Show this help' };

function ownOptions(options: readonly CommandOption[]): ParseArgsOptionsConfig {
  return Object.fromEntries(
    options.map((o) => [o.flag, { type: o.meta ? 'string' : 'boolean', ...(o.short ? { short: o.short } : {}) }] as const),
  );
}

function settingRows(registry: Registry<unknown>): Map<string, string[][]> {
  const sections = new Map<string, string[][]>();
  for (const [key, spec] of Object.entries<SettingSpec<unknown>>(registry)) {
    const isBoolean = isBooleanSetting(spec);
    const flag = `--${isBoolean ? '[no-]' : ''}${flagName(key)}${isBoolean ? '' : ` ${spec.codec.meta}`}`;
    const rows = sections.get(spec.section) ?? [];
    rows.push([
      `${spec.short ? `-${spec.short}, ` : '    '}${flag}`,
      `${spec.doc} [${envName(key)}; default: ${spec.codec.format(spec.default)}]`,
    ]);
    sections.set(spec.section, rows);
  }
  return sections;
}

export function helpText(definition: CommandDefinition): string {
  const parts = [`Usage: gantry ${definition.name} ${definition.synopsis}`, '', definition.description];
  for (const registry of definition.documented ?? definition.settings ?? []) {
    for (const [section, rows] of settingRows(registry)) parts.push('', `${section}:`, formatTable(rows, '  '));
  }
  const own = [...definition.options, HELP].map((o) => [
    `${o.short ? `-${o.short}, ` : '    '}--${o.flag}${o.meta ? ` ${o.meta}` : ''}`,
    o.doc,
  ]);
  parts.push('', 'Command options:', formatTable(own, '  '));
  return parts.join('\n') + '\n';
}

/** node:util parseArgs over the definition's options, its errors turned into one usage error (exit 2). */
export function parseCommandLine(definition: CommandDefinition, argv: readonly string[]): CommandLine {
  const options: ParseArgsOptionsConfig = {};
  for (const registry of definition.settings ?? []) Object.assign(options, parseArgsOptions(registry));
  Object.assign(options, ownOptions([...definition.options, HELP]));
  const dash = argv.indexOf('--');
  const given = dash < 0 ? [...argv] : argv.slice(0, dash);
  try {
    const { values, positionals, tokens } = parseArgs({
      args: given,
      options,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
    return { values, positionals, rest: dash < 0 ? [] : argv.slice(dash + 1), given, tokens };
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '.');
    throw new GantryError(ErrorCode.USAGE, `${message}\nRun \`gantry ${definition.name} --help\` for usage.`);
  }
}

export function defineCommand(definition: CommandDefinition): Command {
  const command = async (argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string) => {
    const line = parseCommandLine(definition, argv);
    if (line.values.help) {
      process.stdout.write(helpText(definition));
      return ExitCode.OK;
    }
    return definition.run(line, env, cwd);
  };
  return Object.assign(command, { definition });
}

/**
 * The tokens given before `--`, without the options named (and their values): what a command hands on to
 * another that parses them again, untouched, e.g. `gantry stack` to its `gantry serve`. (A short option
 * shares its token only when grouped after boolean ones, and gantry's only boolean short option is -h.)
 */
export function tokensWithout(line: CommandLine, drop: ReadonlySet<string>): string[] {
  const dropped = new Set<number>();
  for (const token of line.tokens) {
    if (token.kind !== 'option' || !drop.has(token.name)) continue;
    dropped.add(token.index);
    if (token.value !== undefined && !token.inlineValue) dropped.add(token.index + 1);
  }
  return line.given.filter((_, index) => !dropped.has(index));
}

/** `gantry --help`: the commands and their one-line summaries. */
export function mainHelp(commands: readonly Command[]): string {
  // The synopsis without its optional flags and the app's arguments: what the command is about.
  const brief = (synopsis: string) => synopsis.replace(/\s*\[(options|--[^\]]*)\]/g, '').trim();
  const rows = commands.map(({ definition: d }) => [`${d.name} ${brief(d.synopsis)}`.trim(), d.summary]);
  return [
    'Usage: gantry <command> [options]',
    '',
    'Run TypeScript and JavaScript web apps in production: a pre-fork server behind nginx,',
    'with configuration chosen by environment.',
    '',
    'Commands:',
    formatTable(rows, '  '),
    '',
    "Run `gantry <command> --help` for a command's options.",
    '',
  ].join('\n');
}
