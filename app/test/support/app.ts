/** Running the example app for its tests: migrations, a `gantry serve` of it on a free port, JSON requests. */
import { spawn } from 'node:child_process';
import { expect } from 'vitest';
import { type Reply, request } from '../../../packages/gantry/test/helpers/http.js';
import { REPO_ROOT, type Running, cleanEnv, freePort, gantry } from '../../../packages/gantry/test/helpers/process.js';
import type { TestPostgres } from '../../../test/support/postgres.js';

export const APP = ['--config', 'app/dist/gantry.config.js', 'app/dist/src/app.js'];
export const MIGRATE = 'app/dist/src/db/migrate.js';

export interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `npm run migrate`'s program against a database, to its end. */
export function migrate(url: string, args: readonly string[] = []): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MIGRATE, ...args], { cwd: REPO_ROOT, env: cleanEnv({ DB_CONNECTION_STRING: url }) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A fresh database on `postgres` with the app's migrations applied; the test fails with migrate's output if they do not. */
export async function migratedDatabase(postgres: TestPostgres): Promise<string> {
  const url = await postgres.freshDatabase();
  const outcome = await migrate(url);
  expect(outcome, outcome.stderr).toMatchObject({ code: 0 });
  return url;
}

export interface ServedApp {
  readonly proc: Running;
  readonly url: string;
}

/** gantry serve of the example app on `databaseUrl`, once it listens. */
export async function serveApp(
  databaseUrl: string,
  args: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<ServedApp> {
  const port = await freePort();
  const proc = gantry(['serve', '--bind', `127.0.0.1:${port}`, '--workers', '2', ...args, ...APP], {
    env: { DB_CONNECTION_STRING: databaseUrl, ...env },
  });
  await proc.waitFor(/listening at http/);
  return { proc, url: `http://127.0.0.1:${port}` };
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export function json<T = Record<string, unknown>>(reply: Reply): T {
  return JSON.parse(reply.body) as T;
}
