/** The entry point node:cluster runs in each worker process (see Arbiter). */
import { ExitCode } from '../../errors.js';
import { WORKER_SETTINGS_ENV } from '../../internal-env.js';
import type { WorkerSpec } from '../messages.js';
import { WorkerProcess } from './worker.js';

const spec = process.env[WORKER_SETTINGS_ENV];
if (spec === undefined) {
  process.stderr.write('gantry: this file runs as a worker of `gantry serve`; start the server with `gantry serve`.\n');
  process.exit(ExitCode.USAGE);
}
// The app should see the environment it was given, not gantry's plumbing.
delete process.env[WORKER_SETTINGS_ENV];
await new WorkerProcess(JSON.parse(spec) as WorkerSpec).run();
