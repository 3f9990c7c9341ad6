/**
 * Proxy trust, decided per connection (gunicorn's forwarded_allow_ips + secure_scheme_headers).
 *
 * From a trusted peer (nginx), the X-Forwarded-* headers reach the app, and the scheme is decided by
 * `secure-scheme-headers`; the app then sees `X-Forwarded-Proto` set to that scheme, whichever header the
 * proxy used. From any other peer, every forwarding header is removed before the app runs. gunicorn only
 * ignores them, so a framework told to trust proxies can still be fooled; removing them means an app may
 * safely trust exactly one proxy hop (Fastify `trustProxy: 1`, Express `trust proxy = 1`).
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, type Socket, isIP } from 'node:net';
import { type Codec, InvalidValue, stringOnly } from '../../settings/codecs.js';

export type Scheme = 'http' | 'https';

/** Headers only a proxy may set. Any `X-Forwarded-*` counts, plus these and the scheme headers. */
const FORWARDING_HEADERS = new Set(['forwarded', 'x-real-ip']);
const X_FORWARDED = 'x-forwarded-';

const trustedSymbol = Symbol('gantry.trustedPeer');
type TrackedSocket = Socket & { [trustedSymbol]?: boolean };

const ADDRESS_EXPECTED = '*, an IP address or a CIDR range (10.0.0.0/8, fd00::/8)';

/** Checks one `forwarded-allow-ips` entry. */
export function parseAllowedAddress(raw: string): string {
  const entry = raw.trim();
  if (entry === '*') return entry;
  const [address = '', prefix, extra] = entry.split('/');
  const family = isIP(address);
  const maxPrefix = family === 4 ? 32 : 128;
  const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix);
  if (family === 0 || !prefixOk || extra !== undefined) throw new InvalidValue(ADDRESS_EXPECTED);
  return entry;
}

export const allowedAddressCodec: Codec<string, string> = stringOnly<string>({
  expected: ADDRESS_EXPECTED,
  meta: 'ADDRESS',
  fromString: parseAllowedAddress,
  format: String,
});

const HEADER_MAP_EXPECTED = 'header: value pairs, comma-separated ("X-Forwarded-Proto: https")';
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function parseHeaderMap(raw: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const pair of raw.split(',')) {
    if (pair.trim() === '') continue;
    const colon = pair.indexOf(':');
    const name = pair.slice(0, colon).trim();
    const value = pair.slice(colon + 1).trim();
    if (colon < 0 || !TOKEN.test(name) || value === '') throw new InvalidValue(HEADER_MAP_EXPECTED);
    map[name] = value;
  }
  return map;
}

/** `secure-scheme-headers`: "X-Forwarded-Proto: https" in a string, an object in the config file. */
export const headerMapCodec: Codec<Record<string, string>, string | Readonly<Record<string, string>>> = {
  expected: HEADER_MAP_EXPECTED,
  meta: '"HEADER: VALUE"',
  fromString: parseHeaderMap,
  fromValue: (value) => {
    if (typeof value === 'string') return parseHeaderMap(value);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidValue(HEADER_MAP_EXPECTED);
    const entries = Object.entries(value);
    if (entries.some(([name, v]) => !TOKEN.test(name) || typeof v !== 'string' || v === '')) {
      throw new InvalidValue(HEADER_MAP_EXPECTED);
    }
    return Object.fromEntries(entries);
  },
  format: (map) =>
    Object.entries(map)
      .map(([name, value]) => `${name}: ${value}`)
      .join(', '),
};

export class ProxyTrust {
  readonly #trustAll: boolean;
  readonly #allowed = new BlockList();
  readonly #schemeHeaders: ReadonlyArray<readonly [name: string, secureValue: string]>;
  readonly #schemeHeaderNames: ReadonlySet<string>;

  constructor(allowedAddresses: readonly string[], secureSchemeHeaders: Readonly<Record<string, string>>) {
    this.#trustAll = allowedAddresses.includes('*');
    for (const entry of allowedAddresses) {
      if (entry === '*') continue;
      const [address = '', prefix] = entry.split('/');
      const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.#allowed.addAddress(address, type);
      else this.#allowed.addSubnet(address, Number(prefix), type);
    }
    this.#schemeHeaders = Object.entries(secureSchemeHeaders).map(([name, value]) => [name.toLowerCase(), value] as const);
    this.#schemeHeaderNames = new Set(this.#schemeHeaders.map(([name]) => name));
  }

  /**
   * Decides a connection's trust once, when it is accepted: a peer on a Unix socket is trusted (only
   * local processes reach it), as in gunicorn; a TCP peer by its address. A TCP socket whose address is
   * unknown (the client reset it already) is not trusted.
   */
  classify(socket: Socket, unixSocket: boolean): boolean {
    const trusted = unixSocket || this.#decide(socket.remoteAddress, socket.remoteFamily);
    (socket as TrackedSocket)[trustedSymbol] = trusted;
    return trusted;
  }

  isTrusted(socket: Socket): boolean {
    return (socket as TrackedSocket)[trustedSymbol] ?? this.classify(socket, false);
  }

  #decide(address: string | undefined, family: string | undefined): boolean {
    if (address === undefined || family === undefined) return false;
    if (this.#trustAll) return true;
    if (family === 'IPv6' && address.startsWith('::ffff:') && isIP(address.slice(7)) === 4) {
      return this.#allowed.check(address.slice(7), 'ipv4') || this.#allowed.check(address, 'ipv6');
    }
    return this.#allowed.check(address, family === 'IPv6' ? 'ipv6' : 'ipv4');
  }

  /**
   * Makes the request's forwarding headers say only what a trusted proxy said. Returns the scheme the
   * client used, or null when the trusted proxy's scheme headers disagree (answer 400, as gunicorn does).
   */
  apply(req: IncomingMessage): Scheme | null {
    if (!this.isTrusted(req.socket)) {
      this.#strip(req);
      return 'http';
    }
    let scheme: Scheme | undefined;
    for (const [name, secureValue] of this.#schemeHeaders) {
      const value = req.headers[name];
      if (value === undefined) continue;
      const vote: Scheme = value === secureValue ? 'https' : 'http';
      if (scheme !== undefined && scheme !== vote) return null;
      scheme = vote;
    }
    if (scheme === undefined) return 'http';
    if (req.headers['x-forwarded-proto'] !== scheme) req.headers['x-forwarded-proto'] = scheme;
    return scheme;
  }

  /**
   * The client's address: the peer's, or, from a trusted peer, the right-most X-Forwarded-For entry that
   * is not itself a trusted proxy (the left-most entries are whatever the client chose to send).
   */
  clientAddress(req: IncomingMessage): string {
    const peer = req.socket.remoteAddress ?? 'unix';
    const forwardedFor = req.headers['x-forwarded-for'];
    if (typeof forwardedFor !== 'string' || !this.isTrusted(req.socket)) return peer;
    const hops = forwardedFor.split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = (hops[i] as string).trim();
      const family = isIP(hop);
      if (family === 0) return peer;
      if (i === 0 || !this.#decide(hop, family === 6 ? 'IPv6' : 'IPv4')) return hop;
    }
    return peer;
  }

  /** Most requests carry no forwarding header: one pass that allocates nothing tells. */
  #hasForwarding(raw: readonly string[]): boolean {
    for (let i = 0; i < raw.length; i += 2) if (this.#isForwarding((raw[i] as string).toLowerCase())) return true;
    return false;
  }

  #isForwarding(lowerName: string): boolean {
    return lowerName.startsWith(X_FORWARDED) || FORWARDING_HEADERS.has(lowerName) || this.#schemeHeaderNames.has(lowerName);
  }

  #strip(req: IncomingMessage): void {
    const raw = req.rawHeaders;
    if (!this.#hasForwarding(raw)) return;
    // node builds headersDistinct lazily from rawHeaders and its original length: build it now, before
    // rawHeaders shrinks, and strip it too.
    const distinct = req.headersDistinct;
    let kept = 0;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      const lower = name.toLowerCase();
      if (this.#isForwarding(lower)) {
        delete req.headers[lower];
        delete distinct[lower];
        continue;
      }
      raw[kept++] = name;
      raw[kept++] = raw[i + 1] as string;
    }
    raw.length = kept;
  }
}
