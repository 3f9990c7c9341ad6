/**
 * Running the system's nginx unprivileged for the local stack: a main config that mirrors the official
 * image's /etc/nginx/nginx.conf, with its pid, temp and log paths inside a run directory, so nothing
 * needs root or touches /etc.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCode, GantryError } from '../errors.js';

const run = promisify(execFile);

/** Where package managers put nginx, beyond PATH (sbin is often missing from a user's PATH). */
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin', '/opt/homebrew/bin', '/usr/local/bin'];

export interface NginxInstall {
  readonly bin: string;
  readonly version: string;
  /** The directory of nginx's compiled-in nginx.conf, where its mime.types lives. */
  readonly confDir: string;
  /** ngx_brotli's brotli_static module, when this nginx has it as a dynamic module (Debian: libnginx-mod-http-brotli-static). */
  readonly brotliStaticModule?: string | undefined;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function locate(bin: string): string | undefined {
  if (bin.includes('/')) return executable(bin) ? bin : undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  return dirs.map((dir) => join(dir, bin)).find(executable);
}

export async function findNginx(bin: string): Promise<NginxInstall | undefined> {
  const file = locate(bin);
  if (!file) return undefined;
  const { stderr } = await run(file, ['-V']);
  const version = /nginx\/([\d.]+)/.exec(stderr)?.[1] ?? 'unknown';
  const confPath = /--conf-path=(\S+)/.exec(stderr)?.[1] ?? '/etc/nginx/nginx.conf';
  const modulesPath = /--modules-path=(\S+)/.exec(stderr)?.[1];
  const brotli = modulesPath && join(modulesPath, 'ngx_http_brotli_static_module.so');
  return {
    bin: file,
    version,
    confDir: dirname(confPath),
    brotliStaticModule: brotli && existsSync(brotli) ? brotli : undefined,
  };
}

export const INSTALL_HINT =
  'Install it (Debian/Ubuntu: sudo apt-get install nginx; Fedora: sudo dnf install nginx; macOS: brew install nginx), ' +
  'or point GANTRY_NGINX_BIN at it.';

/** nginx accepts `-e` (error log before the config is read) from 1.19.5. */
function supportsErrorLogFlag(version: string): boolean {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number);
  return major > 1 || (major === 1 && (minor > 19 || (minor === 19 && patch >= 5)));
}

const quote = (path: string) => JSON.stringify(path);

export function mainConfig(install: NginxInstall, runDir: string): string {
  const mimeTypes = join(install.confDir, 'mime.types');
  const temp = (name: string) => `    ${name}_temp_path ${quote(join(runDir, 'temp', name))};`;
  // As root, nginx would switch its workers to an unprivileged user that cannot write this run
  // directory's temp paths; the local stack runs them as the invoking user instead.
  const user = process.getuid?.() === 0 ? 'user root root;\n' : '';
  return `# Written by gantry stack: the official nginx image's nginx.conf, with every path in this run directory.
${install.brotliStaticModule ? `load_module ${quote(install.brotliStaticModule)};\n` : ''}daemon off;
${user}worker_processes auto;
# A reload's old workers close what is still open (WebSockets, event streams) after this long, rather than never.
worker_shutdown_timeout 10s;
pid ${quote(join(runDir, 'nginx.pid'))};
error_log stderr warn;

events {
    worker_connections 1024;
}

http {
${existsSync(mimeTypes) ? `    include ${quote(mimeTypes)};` : '    types { text/html html; text/plain txt; text/css css; application/javascript js; }'}
    default_type application/octet-stream;
    access_log ${quote(join(runDir, 'access.log'))};
    sendfile on;
    keepalive_timeout 65;
${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n')}
    include ${quote(join(runDir, 'conf.d', '*.conf'))};
}
`;
}

/**
 * Writes the main config into `runDir` (conf.d is the caller's) and checks it with `nginx -t`; returns
 * the arguments that run nginx with it.
 */
export async function prepareNginx(install: NginxInstall, runDir: string): Promise<readonly string[]> {
  await mkdir(join(runDir, 'temp'), { recursive: true });
  const conf = join(runDir, 'nginx.conf');
  await writeFile(conf, mainConfig(install, runDir));
  const args = ['-p', `${runDir}/`, '-c', conf, ...(supportsErrorLogFlag(install.version) ? ['-e', 'stderr'] : [])];
  try {
    await run(install.bin, [...args, '-t', '-q']);
  } catch (error) {
    const output = ((error as { stderr?: string }).stderr ?? String(error)).trim();
    throw new GantryError(ErrorCode.NGINX, `nginx rejected the configuration in ${runDir}:\n${output}`);
  }
  return args;
}
