/** Listen addresses: `HOST:PORT`, `[IPV6]:PORT` or `unix:PATH`, as gunicorn's `bind`. */
import { lstat, unlink } from 'node:fs/promises';
import type { ListenOptions } from 'node:net';
import { canConnect } from '../net-probe.js';
import { type Codec, InvalidValue, stringOnly } from '../settings/codecs.js';

export type BindAddress =
  { readonly kind: 'tcp'; readonly host: string; readonly port: number } | { readonly kind: 'unix'; readonly path: string };

const EXPECTED = 'HOST:PORT, [IPV6]:PORT or unix:PATH';

export function parseBind(raw: string): BindAddress {
  const text = raw.trim();
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    if (path === '') throw new InvalidValue(`${EXPECTED} (the unix socket path is empty)`);
    return { kind: 'unix', path };
  }
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  const host = match?.[1] ?? match?.[2];
  if (host === undefined || !(port >= 0 && port <= 65535)) throw new InvalidValue(EXPECTED);
  return { kind: 'tcp', host, port };
}

export function formatBind(address: BindAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** Where a person can reach the address: http://127.0.0.1:8085 or unix:/run/app.sock. */
export function bindUrl(address: BindAddress): string {
  return address.kind === 'unix' ? formatBind(address) : `http://${formatBind(address)}`;
}

export function listenOptions(address: BindAddress): ListenOptions {
  return address.kind === 'unix' ? { path: address.path } : { host: address.host, port: address.port };
}

export const bindCodec: Codec<BindAddress, string> = stringOnly({
  expected: EXPECTED,
  meta: 'ADDRESS',
  fromString: parseBind,
  format: formatBind,
});

/**
 * Removes a unix socket file left behind by a server that is gone (a live one answers, and is kept:
 * listening then fails with EADDRINUSE instead of silently stealing another server's address).
 */
export async function removeStaleUnixSocket(address: BindAddress): Promise<void> {
  if (address.kind !== 'unix') return;
  const stats = await lstat(address.path).catch(() => undefined);
  if (!stats?.isSocket()) return;
  if (!(await canConnect({ path: address.path }))) await unlink(address.path).catch(() => undefined);
}

/** An optional address (metrics-bind): empty or unset is off. */
export const optionalBindCodec: Codec<BindAddress | null, string | null> = {
  expected: `${EXPECTED}, or empty for off`,
  meta: 'ADDRESS',
  fromString: (raw) => (raw.trim() === '' ? null : parseBind(raw)),
  fromValue: (value) => {
    if (value === null) return null;
    if (typeof value === 'string') return value.trim() === '' ? null : parseBind(value);
    throw new InvalidValue(`${EXPECTED}, or empty for off`);
  },
  format: (value) => (value === null ? '(off)' : formatBind(value)),
};
