/** Help text, generated from the settings registries so that it cannot drift from them. */
import { type Registry, type SettingSpec, envName, flagName, isBooleanSetting } from '../settings/registry.js';

export interface ExtraOption {
  readonly flag: string;
  readonly short?: string;
  readonly meta?: string;
  readonly doc: string;
}

function optionLines<S>(registry: Registry<S>): Map<string, string[][]> {
  const sections = new Map<string, string[][]>();
  for (const [key, spec] of Object.entries<SettingSpec<unknown>>(registry)) {
    const isBoolean = isBooleanSetting(spec);
    const flags = `${spec.short ? `-${spec.short}, ` : '    '}--${isBoolean ? '[no-]' : ''}${flagName(key)}${isBoolean ? '' : ` ${spec.codec.meta}`}`;
    const defaultText = spec.codec.format(spec.default);
    const rows = sections.get(spec.section) ?? [];
    rows.push([flags, `${spec.doc} [${envName(key)}; default: ${defaultText}]`]);
    sections.set(spec.section, rows);
  }
  return sections;
}

function table(rows: readonly string[][]): string {
  const width = Math.max(...rows.map(([flags = '']) => flags.length));
  return rows.map(([flags = '', doc = '']) => `  ${flags.padEnd(width)}  ${doc}`).join('\n');
}

export function usage(
  synopsis: string,
  description: string,
  registries: readonly Registry<unknown>[],
  extras: readonly ExtraOption[],
): string {
  const parts = [`Usage: ${synopsis}`, '', description];
  for (const registry of registries) {
    for (const [section, rows] of optionLines(registry)) parts.push('', `${section}:`, table(rows));
  }
  if (extras.length > 0) {
    const rows = extras.map((o) => [`${o.short ? `-${o.short}, ` : '    '}--${o.flag}${o.meta ? ` ${o.meta}` : ''}`, o.doc]);
    parts.push('', 'Command options:', table(rows));
  }
  return parts.join('\n') + '\n';
}

export const MAIN_USAGE = `Usage: gantry <command> [options]

Run TypeScript and JavaScript web apps in production: a pre-fork server behind nginx,
with configuration chosen by environment.

Commands:
  serve <module>[:<export>]   Serve an app with a primary and worker processes (like gunicorn)
  stack <module>[:<export>]   Run nginx and the server together on loopback, for development
  edge --out DIR              Build the app's part of the nginx edge (static files, edge.conf) for an image
  config <module>[:<export>]  Print an app's configuration: each key, its value and its source
  health                      Ask a running server whether it is ready (for container healthchecks)

Run \`gantry <command> --help\` for a command's options.
`;
