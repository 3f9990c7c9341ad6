/**
 * The edge's HTTPS, for the nginx template's `include ${GANTRY_TLS_CONF}` (http level): with TLS, the
 * certificate and key, modern protocols, a session cache, and HSTS on HTTPS answers; without, only an
 * empty HSTS value (the template's add_header always names $gantry_hsts). The server's `listen` then
 * carries `ssl http2` (valid on nginx 1.22; 1.25+ also take it, with a deprecation notice), and a plain
 * HTTP request sent to the HTTPS port is redirected (the template's error_page 497).
 *
 * The local stack can make a self-signed certificate for localhost and 127.0.0.1 (openssl): for trying
 * HTTPS and HTTP/2 on a laptop. Its HSTS max-age is 0, so that a browser that saw it does not insist on
 * HTTPS for localhost afterwards, when the stack runs without TLS.
 */
import { execFile } from 'node:child_process';
import { access, constants, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCode, GantryError } from '../errors.js';

const run = promisify(execFile);

/** A year: the usual HSTS max-age for a real certificate. */
export const HSTS_MAX_AGE_S = 31_536_000;

export interface TlsFiles {
  readonly certificate: string;
  readonly key: string;
  /** Strict-Transport-Security's max-age on HTTPS answers (0: the header tells browsers to forget). */
  readonly hstsMaxAge: number;
}

const quote = (text: string) => JSON.stringify(text);

/** tls.conf's text: the TLS settings, or (undefined) only the HSTS map the template needs either way. */
export function renderTls(tls: TlsFiles | undefined): string {
  const header = "# Written by gantry (stack or edge): the edge's TLS, included at http level by the template.\n";
  if (!tls) return `${header}map $https $gantry_hsts {\n    default "";\n}\n`;
  return `${header}ssl_certificate ${quote(tls.certificate)};
ssl_certificate_key ${quote(tls.key)};
ssl_protocols TLSv1.2 TLSv1.3;
ssl_prefer_server_ciphers off;
ssl_session_cache shared:gantry_tls:10m;
ssl_session_timeout 1d;
ssl_session_tickets off;

map $https $gantry_hsts {
    on       "max-age=${tls.hstsMaxAge}";
    default  "";
}
`;
}

/** The certificate and key given, checked readable now rather than by nginx's first start. */
export async function givenTlsFiles(certificate: string, key: string): Promise<TlsFiles> {
  for (const [what, file] of [
    ['certificate', certificate],
    ['key', key],
  ] as const) {
    await access(file, constants.R_OK).catch(() => {
      throw new GantryError(ErrorCode.TLS, `Cannot read the TLS ${what} ${file}.`);
    });
  }
  return { certificate, key, hstsMaxAge: HSTS_MAX_AGE_S };
}

/** A self-signed certificate for localhost and 127.0.0.1 in `dir` (made once, reused while it is valid). */
export async function selfSignedTls(dir: string): Promise<TlsFiles> {
  await mkdir(dir, { recursive: true });
  const certificate = join(dir, 'localhost.crt');
  const key = join(dir, 'localhost.key');
  const valid = await run('openssl', ['x509', '-checkend', '86400', '-noout', '-in', certificate]).then(
    () => true,
    () => false,
  );
  if (!valid) {
    // prettier-ignore
    const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1', '-keyout', key, '-out', certificate];
    await run('openssl', args).catch((error: NodeJS.ErrnoException & { stderr?: string }) => {
      const reason = error.code === 'ENOENT' ? 'openssl is not installed' : (error.stderr ?? error.message).trim();
      throw new GantryError(ErrorCode.TLS, `Cannot make a self-signed certificate: ${reason}.`, { cause: error });
    });
  }
  return { certificate, key, hstsMaxAge: 0 };
}
