/**
 * `gantry health`: asks a running server (the one the same settings describe) whether it is ready, for
 * a container HEALTHCHECK without curl: exit 0 if PREFIX/ready answers 200, else 1 with the reason.
 * With --primary, the primary's /ready on metrics-bind (job workers have no address of their own).
 */
import { request } from 'node:http';
import { ErrorCode, ExitCode, GantryError, describeError } from '../errors.js';
import type { BindAddress } from '../server/bind.js';
import { defineCommand } from './command.js';
import { CONFIG_OPTION, resolveServe } from './resolve.js';

/** Where to reach a bind address from the same machine: a wildcard address means loopback. */
function target(bind: BindAddress): { host?: string; port?: number; socketPath?: string } {
  if (bind.kind === 'unix') return { socketPath: bind.path };
  const host = bind.host === '0.0.0.0' ? '127.0.0.1' : bind.host === '::' ? '::1' : bind.host;
  return { host, port: bind.port };
}

function ask(bind: BindAddress, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ ...target(bind), path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

export const healthCommand = defineCommand({
  name: 'health',
  synopsis: '[--config FILE] [--live] [--timeout SECONDS]',
  summary: 'Ask a running server whether it is ready (for container healthchecks)',
  description:
    'Asks the gantry server described by the same settings (config file, GANTRY_* environment) whether it is\n' +
    'ready: GET <health-prefix>/ready on its first bind address. Exit 0 if it answers 200, else 1.\n' +
    'For a container HEALTHCHECK: no curl needed.',
  options: [
    { ...CONFIG_OPTION, doc: "The server's config file" },
    { flag: 'live', doc: 'Ask for liveness (<health-prefix>/live) instead of readiness' },
    {
      flag: 'primary',
      doc: "Ask the primary on metrics-bind (/ready, /live) instead of a worker: for gantry run's job workers, which have no bind",
    },
    { flag: 'timeout', meta: 'SECONDS', doc: 'How long to wait for the answer (default 3)' },
  ],
  async run(line, env, cwd) {
    const timeout = Number(line.values.timeout ?? 3);
    if (!(timeout > 0)) {
      throw new GantryError(ErrorCode.USAGE, `--timeout must be a number of seconds > 0 (got "${String(line.values.timeout)}").`);
    }
    const { resolved } = await resolveServe({ values: { config: line.values.config }, positionals: [], rest: [] }, env, cwd);
    const { bind, healthPrefix, metricsBind } = resolved.values;
    const what = line.values.live ? 'live' : 'ready';
    if (line.values.primary && metricsBind === null) {
      throw new GantryError(ErrorCode.USAGE, '--primary asks the primary on metrics-bind, which is not set.');
    }
    if (!line.values.primary && healthPrefix === '') {
      throw new GantryError(ErrorCode.USAGE, 'The health answers are turned off (health-prefix is empty).');
    }
    const first = line.values.primary && metricsBind !== null ? metricsBind : (bind[0] as BindAddress);
    const path = line.values.primary ? `/${what}` : `${healthPrefix}/${what}`;
    try {
      const { status, body } = await ask(first, path, timeout * 1000);
      process.stdout.write(`gantry health: ${path} answered ${status} ${body}\n`);
      return status === 200 ? ExitCode.OK : ExitCode.FAILURE;
    } catch (error) {
      process.stderr.write(`gantry health: ${path} did not answer: ${describeError(error)}\n`);
      return ExitCode.FAILURE;
    }
  },
});
