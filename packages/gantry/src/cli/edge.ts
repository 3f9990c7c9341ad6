/**
 * `gantry edge --out DIR`: for an nginx image's build stage, the static mounts copied into DIR and the
 * edge.conf the template includes (GANTRY_EDGE_CONF=DIR/edge.conf), from the same settings the local
 * stack reads (config file, GANTRY_* environment, flags).
 */
import { resolve } from 'node:path';
import { ErrorCode, ExitCode, GantryError } from '../errors.js';
import { serverSettings } from '../server/settings.js';
import { buildEdge } from '../stack/edge.js';
import { stackSettings } from '../stack/settings.js';
import { defineCommand } from './command.js';
import { CONFIG_OPTION, resolveServe, resolveStack } from './resolve.js';

export const edgeCommand = defineCommand({
  name: 'edge',
  synopsis: '--out DIR [options]',
  summary: "Build the app's part of the nginx edge (static files, edge.conf) for an image",
  description:
    "Build the app's part of the nginx edge for an image: every --static and --immutable-static directory copied\n" +
    'into DIR, and DIR/edge.conf (the body limit, the static locations), which the nginx template includes.',
  settings: [stackSettings, serverSettings],
  documented: [stackSettings],
  options: [
    { ...CONFIG_OPTION, doc: 'The config file, as for gantry serve' },
    { flag: 'out', meta: 'DIR', doc: 'Where to write edge.conf and the static files (required)' },
    { flag: 'served-from', meta: 'DIR', doc: 'Where DIR will be in the nginx image, if not at the same path' },
  ],
  async run(line, env, cwd) {
    const out = line.values.out;
    if (typeof out !== 'string' || out === '') throw new GantryError(ErrorCode.USAGE, 'Where to? gantry edge --out DIR');
    const inputs = await resolveServe(line, env, cwd);
    const stack = resolveStack(line, env, inputs).values;
    const servedFrom = line.values['served-from'];
    const file = await buildEdge(
      {
        static: stack.static,
        immutableStatic: stack.immutableStatic,
        limitRequestBody: inputs.resolved.values.limitRequestBody,
        healthPrefix: inputs.resolved.values.healthPrefix,
      },
      cwd,
      resolve(cwd, out),
      typeof servedFrom === 'string' ? servedFrom : resolve(cwd, out),
    );
    const directories = stack.static.length + stack.immutableStatic.length;
    process.stdout.write(`gantry edge: wrote ${file} and ${directories} static director(ies)\n`);
    return ExitCode.OK;
  },
});
