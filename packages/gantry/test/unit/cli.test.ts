import { describe, expect, it } from 'vitest';
import { defineCommand, helpText, mainHelp, parseCommandLine, tokensWithout } from '../../src/cli/command.js';
import { stackCommand } from '../../src/cli/stack.js';
import { serverSettings } from '../../src/server/settings.js';
import { ExitCode } from '../../src/errors.js';

const probe = defineCommand({
  name: 'probe',
  synopsis: '[options] <module> [-- app arguments]',
  summary: 'A command for the test',
  description: 'Probes.',
  settings: [serverSettings],
  options: [{ flag: 'out', meta: 'DIR', doc: 'Where to' }],
  run: () => Promise.resolve(ExitCode.OK),
});

describe('the command line', () => {
  it('hands on the tokens as given, without the named options and their values', () => {
    const line = parseCommandLine(probe.definition, [
      '-w',
      '3',
      '--bind',
      '0.0.0.0:80',
      '--out=dist',
      '-b127.0.0.1:81',
      '--no-reuse-port',
      'app.js',
      '--',
      '--bind',
      'theirs',
    ]);
    expect(tokensWithout(line, new Set(['bind', 'out']))).toEqual(['-w', '3', '--no-reuse-port', 'app.js']);
    expect(line.rest).toEqual(['--bind', 'theirs']);
  });

  it('gantry stack keeps its own settings and --bind from the gantry serve it starts', () => {
    const line = parseCommandLine(stackCommand.definition, [
      '--nginx-port',
      '9000',
      '--workers=4',
      '--static',
      '/s/=s',
      'app.js',
    ]);
    expect(tokensWithout(line, new Set(['bind', 'nginx-port', 'static']))).toEqual(['--workers=4', 'app.js']);
  });

  it('refuses an unknown option with a usage error that names the help', () => {
    expect(() => parseCommandLine(probe.definition, ['--bogus'])).toThrow(/Unknown option '--bogus'.\nRun `gantry probe --help`/);
  });

  it('generates the help from the settings and the command options', () => {
    const help = helpText(probe.definition);
    expect(help).toMatch(/^Usage: gantry probe \[options\] <module>/);
    for (const flag of ['--workers INT', '--[no-]reuse-port', '--out DIR', '--help']) expect(help).toContain(flag);
    expect(help).toContain('[GANTRY_WORKERS; default: 2]');
    expect(mainHelp([probe])).toContain('  probe <module>  A command for the test');
  });
});
