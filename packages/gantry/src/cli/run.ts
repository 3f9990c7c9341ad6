/**
 * `gantry run <module>[:<export>]`: job workers (a queue's consumers) supervised as `gantry serve`
 * supervises web workers, by the same arbiter: respawned when they crash, killed when their event loop
 * sticks, a new generation on SIGHUP while the old one finishes its jobs, a graceful stop on SIGTERM.
 */
import { ExitCode } from '../errors.js';
import { jobWorkerSettings, serverSettings } from '../server/settings.js';
import { formatResolved } from '../settings/registry.js';
import { defineCommand } from './command.js';
import { CONFIG_OPTION, requireApp, resolveServe } from './resolve.js';
import { runArbiter } from './serve.js';

export const runCommand = defineCommand({
  name: 'run',
  synopsis: '[options] <module>[:<export>]',
  summary: "Run job workers (a queue's consumers) with a primary and worker processes",
  description:
    'Run job workers: a primary process forks --workers worker processes, each loading <module> and running\n' +
    'its default export or <export>: an object with start(context) and stop({ timeoutMs }), or a function\n' +
    "returning one. start() takes work (a queue's jobs); stop() stops taking it and finishes or releases what\n" +
    'runs within --graceful-timeout. Supervised like gantry serve: crashes respawned, a stuck event loop\n' +
    'reported (context.track names the job) and killed, SIGHUP a new generation, SIGTERM a graceful stop.\n' +
    'The same config file and GANTRY_* variables as gantry serve; the HTTP settings do not apply.',
  settings: [serverSettings],
  documented: [jobWorkerSettings],
  options: [
    { ...CONFIG_OPTION, doc: 'Config file [GANTRY_CONFIG; default: ./gantry.config.{js,mjs,ts,mts} if present]' },
    { flag: 'print-config', doc: 'Print every resolved setting and its source, then exit' },
  ],
  async run(line, env, cwd) {
    const inputs = await resolveServe(line, env, cwd);
    if (line.values['print-config']) {
      process.stdout.write(formatResolved(jobWorkerSettings, inputs.resolved) + '\n');
      return ExitCode.OK;
    }
    return runArbiter('jobs', requireApp(inputs.app, 'run'), inputs, line, env, cwd);
  },
});
