/** `gantry serve` and `gantry stack`: parse, resolve settings, then hand over to the arbiter or the stack. */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ExitCodeValue, ErrorCode, ExitCode, GantryError, describeError } from '../errors.js';
import { createLogger } from '../logger.js';
import { Arbiter } from '../server/primary/arbiter.js';
import { loadApp } from '../server/app/load.js';
import { withTimeLimit } from '../time-limit.js';
import { PARENT_PID_ENV } from '../internal-env.js';
import { type ServerSettings, serverSettings } from '../server/settings.js';
import { flagName, formatResolved, parseArgsOptions } from '../settings/registry.js';
import { type StackSettings, stackSettings } from '../stack/settings.js';
import { buildEdge } from '../stack/edge.js';
import { runStack } from '../stack/stack.js';
import { parseCommandLine } from './parse.js';
import { type ServeInputs, resolveServe, resolveStack } from './resolve.js';
import { usage } from './usage.js';

const BIN = fileURLToPath(new URL('../../bin/gantry.js', import.meta.url));

const SERVE_EXTRAS = [
  {
    flag: 'config',
    short: 'c',
    meta: 'FILE',
    doc: 'Config file [GANTRY_CONFIG; default: ./gantry.config.{js,mjs,ts,mts} if present]',
  },
  { flag: 'check-config', doc: 'Resolve the settings and load the app, then exit: 0 if both are fine, else 1' },
  { flag: 'print-config', doc: 'Print every resolved setting and its source, then exit' },
  { flag: 'help', short: 'h', doc: 'Show this help' },
] as const;

const SERVE_SYNOPSIS = 'gantry serve [options] <module>[:<export>]';
const SERVE_DESCRIPTION =
  'Serve an app: a primary process forks --workers worker processes, each loading <module> (a .js/.mjs file,\n' +
  'a .ts file in development, or a package) and serving its default export or <export>: a node (req, res)\n' +
  'listener, a { fetch } app, or an Express, Fastify, Koa or Hono app.\n' +
  'Precedence: default < config file < GANTRY_* environment < command line.';

export function commandOptions(extras: readonly { flag: string; short?: string; meta?: string }[]) {
  return Object.fromEntries(
    extras.map((e) => [
      e.flag,
      { type: e.meta ? ('string' as const) : ('boolean' as const), ...(e.short ? { short: e.short } : {}) },
    ]),
  );
}

function requireApp(app: string | undefined, command: string): string {
  if (app === undefined) {
    throw new GantryError(ErrorCode.USAGE, `Which app? Usage: gantry ${command} [options] <module>[:<export>]`);
  }
  return app;
}

async function checkConfig(app: string, settings: ServerSettings, cwd: string): Promise<ExitCodeValue> {
  try {
    const loading = loadApp(app, {
      cwd,
      context: { workerId: 1 },
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

export async function serveCommand(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<ExitCodeValue> {
  const args = parseCommandLine(argv, { ...parseArgsOptions(serverSettings), ...commandOptions(SERVE_EXTRAS) }, 'serve');
  if (args.values.help) {
    process.stdout.write(usage(SERVE_SYNOPSIS, SERVE_DESCRIPTION, [serverSettings], SERVE_EXTRAS));
    return ExitCode.OK;
  }
  let inputs: ServeInputs;
  try {
    inputs = await resolveServe(args, env, cwd);
  } catch (error) {
    if (args.values['check-config'] && error instanceof GantryError) {
      process.stderr.write(`gantry: check failed: ${error.message}\n`);
      return ExitCode.FAILURE;
    }
    throw error;
  }
  const { resolved } = inputs;
  if (args.values['print-config']) {
    process.stdout.write(formatResolved(serverSettings, resolved) + '\n');
    return ExitCode.OK;
  }
  const app = requireApp(inputs.app, 'serve');
  if (args.values['check-config']) return checkConfig(app, resolved.values, cwd);
  const logger = createLogger({ level: resolved.values.logLevel, format: resolved.values.logFormat, role: 'primary' });
  const reload = async () => {
    const next = await resolveServe(args, env, cwd, true);
    return { settings: next.resolved.values, hooks: next.hooks };
  };
  const initial = { settings: resolved.values, hooks: inputs.hooks };
  const parent = Number(env[PARENT_PID_ENV]);
  const exitWithParent = Number.isInteger(parent) && parent > 0 ? parent : undefined;
  const { appArgs, configFile } = inputs;
  return new Arbiter({ app, appArgs, cwd, initial, reload, configFile, exitWithParent, logger }).run();
}

const STACK_EXTRAS = [
  { flag: 'config', short: 'c', meta: 'FILE', doc: 'The server config file, as for gantry serve' },
  { flag: 'help', short: 'h', doc: 'Show this help' },
] as const;

export async function stackCommand(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<ExitCodeValue> {
  const options = { ...parseArgsOptions(serverSettings), ...parseArgsOptions(stackSettings), ...commandOptions(STACK_EXTRAS) };
  const args = parseCommandLine(argv, options, 'stack');
  if (args.values.help) {
    const description =
      'Run the deployment on loopback: nginx (static files, proxy) in front of gantry serve, both stopped on Ctrl-C.\n' +
      'Every gantry serve option is accepted and passed on; --bind is set from --app-port.';
    process.stdout.write(
      usage('gantry stack [options] <module>[:<export>]', description, [stackSettings, serverSettings], STACK_EXTRAS),
    );
    return ExitCode.OK;
  }
  // Resolve the server's settings here too, so a mistake is reported once, before anything starts.
  const inputs = await resolveServe(args, env, cwd);
  const app = requireApp(inputs.app, 'stack');
  const stack: StackSettings = resolveStack(args, env, inputs).values;
  const serveFlags = Object.keys(serverSettings)
    .filter((key) => key !== 'bind')
    .flatMap((key) => {
      const flag = flagName(key);
      if (args.values[`no-${flag}`] === true) return [`--no-${flag}`];
      const value = args.values[flag];
      if (value === undefined) return [];
      return (Array.isArray(value) ? value : [value]).map((v) => (v === true ? `--${flag}` : `--${flag}=${v}`));
    });
  const config = args.values.config;
  const serve = [
    process.execPath,
    BIN,
    'serve',
    ...(typeof config === 'string' ? [`--config=${config}`] : []),
    ...serveFlags,
    `--bind=127.0.0.1:${stack.appPort}`,
    app,
    ...(inputs.appArgs.length > 0 ? ['--', ...inputs.appArgs] : []),
  ];
  const logger = createLogger({
    level: inputs.resolved.values.logLevel,
    format: inputs.resolved.values.logFormat,
    role: 'stack',
  });
  const { healthPrefix, limitRequestBody } = inputs.resolved.values;
  const readyPath = healthPrefix === '' ? undefined : `${healthPrefix}/ready`;
  return runStack({ settings: stack, serve, cwd, logger, readyPath, limitRequestBody });
}

const EDGE_EXTRAS = [
  { flag: 'config', short: 'c', meta: 'FILE', doc: 'The config file, as for gantry serve' },
  { flag: 'out', meta: 'DIR', doc: 'Where to write edge.conf and the static files (required)' },
  { flag: 'served-from', meta: 'DIR', doc: 'Where DIR will be in the nginx image, if not at the same path' },
  { flag: 'help', short: 'h', doc: 'Show this help' },
] as const;

/**
 * `gantry edge --out DIR`: for an nginx image's build stage, the static mounts copied into DIR and the
 * edge.conf the template includes (GANTRY_EDGE_CONF=DIR/edge.conf), from the same settings the local
 * stack reads (config file, GANTRY_* environment, flags).
 */
export async function edgeCommand(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<ExitCodeValue> {
  const options = { ...parseArgsOptions(serverSettings), ...parseArgsOptions(stackSettings), ...commandOptions(EDGE_EXTRAS) };
  const args = parseCommandLine(argv, options, 'edge');
  if (args.values.help) {
    const description =
      "Build the app's part of the nginx edge for an image: every --static and --immutable-static directory copied\n" +
      'into DIR, and DIR/edge.conf (the body limit, the static locations), which the nginx template includes.';
    process.stdout.write(usage('gantry edge --out DIR [options]', description, [stackSettings], EDGE_EXTRAS));
    return ExitCode.OK;
  }
  const out = args.values.out;
  if (typeof out !== 'string' || out === '') {
    throw new GantryError(ErrorCode.USAGE, 'Where to? gantry edge --out DIR');
  }
  const inputs = await resolveServe(args, env, cwd);
  const stack = resolveStack(args, env, inputs).values;
  const servedFrom = args.values['served-from'];
  const file = await buildEdge(
    { static: stack.static, immutableStatic: stack.immutableStatic, limitRequestBody: inputs.resolved.values.limitRequestBody },
    cwd,
    resolve(cwd, out),
    typeof servedFrom === 'string' ? servedFrom : resolve(cwd, out),
  );
  process.stdout.write(
    `gantry edge: wrote ${file} and ${stack.static.length + stack.immutableStatic.length} static director(ies)\n`,
  );
  return ExitCode.OK;
}
