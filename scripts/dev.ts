/**
 * `npm run dev`: the local stack for development. Vite's dev server for the frontend (hot module
 * replacement), the TypeScript compiler watching the server's code, and `gantry stack --reload` (a
 * change to the compiled server is a graceful reload), nginx in front of both so that URLs are the
 * ones of `npm start`: the page from gantry, /static/ from Vite. Ctrl-C stops everything.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NGINX_PORT = process.env.GANTRY_NGINX_PORT ?? '1337';
const VITE_PORT = process.env.VITE_PORT ?? '5173';

process.env.NGINX_PORT = NGINX_PORT;
process.env.VITE_PORT = VITE_PORT;
const vite = await createServer({ configFile: `${ROOT}app/vite.config.ts`, logLevel: 'info' });
await vite.listen();

const children: ChildProcess[] = [];
const run = (command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}) => {
  const child = spawn(command, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
  children.push(child);
  return child;
};

run('npx', ['tsc', '-b', '--watch', '--preserveWatchOutput', 'packages/gantry', 'app']);
const stack = run(
  process.execPath,
  [
    'packages/gantry/bin/gantry.js',
    'stack',
    '--config',
    'app/dist/gantry.config.js',
    '--nginx-port',
    NGINX_PORT,
    '--database-env',
    'DB_CONNECTION_STRING',
    '--release',
    'node app/dist/src/db/migrate.js',
    '--jobs',
    'app/dist/src/jobs/worker.js',
    '--reload',
    '--dev-server',
    `/static/=http://127.0.0.1:${VITE_PORT}`,
    'app/dist/src/app.js',
  ],
  { FRONTEND_DEV_SERVER: 'true' },
);

let stopping = false;
const stop = (code: number) => {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  void vite.close().finally(() => {
    process.exitCode = code;
  });
};
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
stack.once('exit', (code) => stop(code ?? 1));
