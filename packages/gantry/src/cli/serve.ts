/** `gantry serve`: resolve the settings, then hand over to the arbiter (or check, or print, the settings). */
import { type ExitCodeValue, ExitCode, GantryError, describeError } from '../errors.js';
import { PARENT_PID_ENV } from '../internal-env.js';
import { createLogger } from '../logger.js';
import { loadApp } from '../server/app/load.js';
import type { WorkerKind } from '../server/messages.js';
import { Arbiter } from '../server/primary/arbiter.js';
import { type ServerSettings, serverSettings } from '../server/settings.js';
import { formatResolved } from '../settings/registry.js';
import { withTimeLimit } from '../time-limit.js';
import { type CommandLine, defineCommand } from './command.js';
import { CONFIG_OPTION, type ServeInputs, requireApp, resolveServe } from './resolve.js';

async function checkConfig(app: string, settings: ServerSettings, cwd: string): Promise<ExitCodeValue> {
  try {
    const loading = loadApp(app, {
      cwd,
      context: { workerId: 1, workers: settings.workers },
      appKind: settings.appKind,
      adoptWithinMs: settings.bootTimeout * 1000,
    });
    await withTimeLimit(loading, settings.bootTimeout * 1000, () => {
      throw new Error(`${app} did not finish loading within boot-timeout (${settings.bootTimeout} s)`);
    });
  } catch (error) {
    process.stderr.write(`gantry: check failed: ${describeError(error)}\n`);
    return ExitCode.FAILURE;
  }
  process.stdout.write(`gantry: the settings are valid and ${app} loads (${settings.workers} workers would serve it).\n`);
  return ExitCode.OK;
}

/** Hands the resolved settings to an arbiter of `kind` workers, and reads them again on SIGHUP. */
export function runArbiter(
  kind: WorkerKind,
  app: string,
  inputs: ServeInputs,
  line: CommandLine,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<ExitCodeValue> {
  const { resolved, appArgs, configFile } = inputs;
  const logger = createLogger({ level: resolved.values.logLevel, format: resolved.values.logFormat, role: 'primary' });
  const reload = async () => {
    const next = await resolveServe(line, env, cwd, true);
    return { settings: next.resolved.values, hooks: next.hooks };
  };
  const initial = { settings: resolved.values, hooks: inputs.hooks };
  const parent = Number(env[PARENT_PID_ENV]);
  const exitWithParent = Number.isInteger(parent) && parent > 0 ? parent : undefined;
  return new Arbiter({ kind, app, appArgs, cwd, initial, reload, configFile, exitWithParent, logger }).run();
}

export const serveCommand = defineCommand({
  name: 'serve',
  synopsis: '[options] <module>[:<export>] [-- app arguments]',
  summary: 'Serve an app with a primary and worker processes (like gunicorn)',
  description:
    'Serve an app: a primary process forks --workers worker processes, each loading <module> (a .js/.mjs file,\n' +
    'a .ts file in development, or a package) and serving its default export or <export>: a node (req, res)\n' +
    'listener, a { fetch } app, or an Express, Fastify, Koa or Hono app.\n' +
    'Precedence: default < config file < GANTRY_* environment < command line.',
  settings: [serverSettings],
  options: [
    { ...CONFIG_OPTION, doc: 'Config file [GANTRY_CONFIG; default: ./gantry.config.{js,mjs,ts,mts} if present]' },
    { flag: 'check-config', doc: 'Resolve the settings and load the app, then exit: 0 if both are fine, else 1' },
    { flag: 'print-config', doc: 'Print every resolved setting and its source, then exit' },
  ],
  async run(line, env, cwd) {
    let inputs: ServeInputs;
    try {
      inputs = await resolveServe(line, env, cwd);
    } catch (error) {
      if (line.values['check-config'] && error instanceof GantryError) {
        process.stderr.write(`gantry: check failed: ${error.message}\n`);
        return ExitCode.FAILURE;
      }
      throw error;
    }
    const { resolved } = inputs;
    if (line.values['print-config']) {
      process.stdout.write(formatResolved(serverSettings, resolved) + '\n');
      return ExitCode.OK;
    }
    const app = requireApp(inputs.app, 'serve');
    if (line.values['check-config']) return checkConfig(app, resolved.values, cwd);
    return runArbiter('web', app, inputs, line, env, cwd);
  },
});
