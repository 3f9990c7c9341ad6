/** `gantry config <module>[:<export>]`: each key of an app's configuration, its value and its source. */
import { relative } from 'node:path';
import { type AnySettings, isSettings } from '../config/define.js';
import { describeValueSource, displayValue, inspectConfig } from '../config/load.js';
import { ErrorCode, ExitCode, GantryError } from '../errors.js';
import { importFile, resolveModule } from '../module-loader.js';
import { parseAppSpec } from '../server/app/load.js';
import { defineCommand } from './command.js';
import { formatTable } from './table.js';

async function findSettings(spec: string, cwd: string): Promise<AnySettings> {
  const { module, exportName } = parseAppSpec(spec);
  const file = resolveModule(module, cwd, 'settings module');
  const namespace = await importFile(file, cwd);
  const label = relative(cwd, file) || file;
  const candidates =
    exportName !== undefined
      ? [namespace[exportName]]
      : isSettings(namespace.default)
        ? [namespace.default]
        : Object.values(namespace);
  const found = candidates.filter(isSettings);
  if (found.length === 1 && found[0]) return found[0];
  const why = found.length === 0 ? 'exports no settings made by defineSettings()' : 'exports several settings';
  throw new GantryError(ErrorCode.USAGE, `${label}${exportName ? `:${exportName}` : ''} ${why}; name one: ${label}:<export>.`);
}

export const configCommand = defineCommand({
  name: 'config',
  synopsis: '[--json] <module>[:<export>]',
  summary: "Print an app's configuration: each key, its value and its source",
  description:
    'Prints the app configuration the current environment selects: the profile (APP_ENV), then each key,\n' +
    'its value (secrets redacted, URL passwords masked) and its source (profile, env or file). <module>\n' +
    'exports the object made by defineSettings() from gantry/config. Exits 2 if the configuration is invalid.',
  options: [{ flag: 'json', doc: 'Print JSON instead of a table' }],
  async run(line, env, cwd) {
    const [spec, ...extra] = line.positionals;
    if (spec === undefined || extra.length > 0) {
      throw new GantryError(ErrorCode.USAGE, 'Expected one settings module: gantry config [--json] <module>[:<export>]');
    }
    const settings = await findSettings(spec, cwd);
    const report = inspectConfig(settings, { env });
    const entries = report.entries.map((entry) => ({
      key: entry.key,
      value: displayValue(entry),
      source: describeValueSource(entry.source),
      secret: entry.secret,
    }));
    if (line.values.json) {
      process.stdout.write(JSON.stringify({ profile: report.profile, entries, problems: report.problems }, null, 2) + '\n');
    } else {
      const how =
        report.profileSource === 'default' ? `default; set ${settings.selector} to choose` : `from ${settings.selector}`;
      const choices = Object.keys(settings.profiles).join(', ');
      const rows = [['KEY', 'VALUE', 'SOURCE'], ...entries.map((e) => [e.key, e.value, e.source])];
      process.stdout.write(`Profile: ${report.profile} (${how}; profiles: ${choices})\n\n${formatTable(rows)}\n`);
      if (report.problems.length > 0) {
        process.stdout.write(`\nProblems:\n${report.problems.map((p) => `  - ${p}`).join('\n')}\n`);
      }
    }
    return report.problems.length > 0 ? ExitCode.USAGE : ExitCode.OK;
  },
});
