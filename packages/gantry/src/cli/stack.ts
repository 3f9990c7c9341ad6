/** `gantry stack`: nginx in front of a `gantry serve` (and, with --jobs, a `gantry run`) on loopback, run and stopped together. */
import { fileURLToPath } from 'node:url';
import { createLogger } from '../logger.js';
import { serverSettings } from '../server/settings.js';
import { flagName } from '../settings/registry.js';
import { stackSettings } from '../stack/settings.js';
import { runStack } from '../stack/stack.js';
import { defineCommand, tokensWithout } from './command.js';
import { CONFIG_OPTION, requireApp, resolveServe, resolveStack } from './resolve.js';

const BIN = fileURLToPath(new URL('../../bin/gantry.js', import.meta.url));

/** The stack's own flags (and --bind, which it sets): everything else on its command line is gantry serve's. */
const NOT_FOR_SERVE = new Set(['bind', ...Object.keys(stackSettings).flatMap((key) => [flagName(key), `no-${flagName(key)}`])]);

export const stackCommand = defineCommand({
  name: 'stack',
  synopsis: '[options] <module>[:<export>] [-- app arguments]',
  summary: 'Run nginx and the server together on loopback, for development',
  description:
    'Run the deployment on loopback: nginx (static files, proxy) in front of gantry serve, both stopped on Ctrl-C.\n' +
    'Every gantry serve option is accepted and passed on; --bind is set from --app-port.',
  settings: [stackSettings, serverSettings],
  options: [{ ...CONFIG_OPTION, doc: 'The server config file, as for gantry serve' }],
  async run(line, env, cwd) {
    // Resolve the server's settings here too, so a mistake is reported once, before anything starts.
    const inputs = await resolveServe(line, env, cwd);
    requireApp(inputs.app, 'stack');
    const stack = resolveStack(line, env, inputs).values;
    const rest = line.rest.length > 0 ? ['--', ...line.rest] : [];
    const serve = [
      process.execPath,
      BIN,
      'serve',
      `--bind=127.0.0.1:${stack.appPort}`,
      ...tokensWithout(line, NOT_FOR_SERVE),
      ...rest,
    ];
    const { logLevel, logFormat, healthPrefix, limitRequestBody } = inputs.resolved.values;
    const logger = createLogger({ level: logLevel, format: logFormat, role: 'stack' });
    const readyPath = healthPrefix === '' ? undefined : `${healthPrefix}/ready`;
    const config = typeof line.values.config === 'string' ? ['--config', line.values.config] : [];
    const jobs =
      stack.jobs === null
        ? undefined
        : [process.execPath, BIN, 'run', '--workers', String(stack.jobWorkers), ...config, stack.jobs];
    return runStack({ settings: stack, serve, jobs, cwd, logger, readyPath, limitRequestBody, healthPrefix });
  },
});
