import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ProxyTrust, parseAllowedAddress } from '../../src/server/http/proxy.js';

/** A request as node:http would give it: rawHeaders as sent, headers lower-cased. */
function fakeRequest(remoteAddress: string | undefined, rawHeaders: string[]): IncomingMessage {
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) headers[(rawHeaders[i] as string).toLowerCase()] = rawHeaders[i + 1] as string;
  const remoteFamily = remoteAddress === undefined ? undefined : remoteAddress.includes(':') ? 'IPv6' : 'IPv4';
  const socket = { remoteAddress, remoteFamily } as unknown as Socket;
  const headersDistinct = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]]));
  return { socket, headers, headersDistinct, rawHeaders: [...rawHeaders] } as unknown as IncomingMessage;
}

const SPOOF = [
  'Host',
  'example.com',
  'X-Forwarded-For',
  '6.6.6.6',
  'X-Forwarded-Proto',
  'https',
  'X-Forwarded-Host',
  'evil.example',
  'Forwarded',
  'for=6.6.6.6;proto=https',
  'X-Real-IP',
  '6.6.6.6',
  'Accept',
  '*/*',
];

describe('proxy trust', () => {
  const trust = new ProxyTrust(['127.0.0.1', '::1', '10.0.0.0/8'], { 'X-Forwarded-Proto': 'https' });

  it('removes every forwarding header sent by an untrusted peer, and the app sees plain http', () => {
    const req = fakeRequest('203.0.113.9', SPOOF);
    expect(trust.apply(req)).toBe('http');
    expect(req.headers).toEqual({ host: 'example.com', accept: '*/*' });
    expect(req.rawHeaders).toEqual(['Host', 'example.com', 'Accept', '*/*']);
  });

  it('keeps them from a trusted peer, and the scheme follows secure-scheme-headers', () => {
    const req = fakeRequest('10.1.2.3', SPOOF);
    expect(trust.apply(req)).toBe('https');
    expect(req.headers['x-forwarded-for']).toBe('6.6.6.6');
    expect(req.headers['x-forwarded-host']).toBe('evil.example');
  });

  it('trusts IPv4-mapped IPv6 peers by their IPv4 address, and unix-socket peers always', () => {
    expect(trust.isTrusted(fakeRequest('::ffff:127.0.0.1', []).socket)).toBe(true);
    expect(trust.isTrusted(fakeRequest('::ffff:192.0.2.1', []).socket)).toBe(false);
    expect(trust.isTrusted(fakeRequest('::1', []).socket)).toBe(true);
    expect(trust.classify(fakeRequest(undefined, []).socket, true)).toBe(true);
  });

  it('does not trust a TCP peer whose address is unknown (it reset the connection already)', () => {
    const socket = fakeRequest(undefined, []).socket;
    expect(trust.classify(socket, false)).toBe(false);
    expect(trust.isTrusted(socket)).toBe(false);
  });

  it('trusts everyone with *, as gunicorn does', () => {
    expect(new ProxyTrust(['*'], {}).isTrusted(fakeRequest('198.51.100.7', []).socket)).toBe(true);
  });

  it('normalises the scheme header the app sees, and refuses conflicting scheme headers', () => {
    const twoHeaders = new ProxyTrust(['127.0.0.1'], { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Ssl': 'on' });
    const viaSsl = fakeRequest('127.0.0.1', ['X-Forwarded-Ssl', 'on']);
    expect(twoHeaders.apply(viaSsl)).toBe('https');
    expect(viaSsl.headers['x-forwarded-proto']).toBe('https');
    expect(twoHeaders.apply(fakeRequest('127.0.0.1', ['X-Forwarded-Ssl', 'on', 'X-Forwarded-Proto', 'http']))).toBeNull();
    // The value must match exactly, as in gunicorn: "HTTPS" is not "https".
    expect(trust.apply(fakeRequest('127.0.0.1', ['X-Forwarded-Proto', 'HTTPS']))).toBe('http');
  });

  it('finds the client address: the right-most X-Forwarded-For entry that is not a trusted proxy', () => {
    expect(trust.clientAddress(fakeRequest('127.0.0.1', ['X-Forwarded-For', '6.6.6.6, 198.51.100.7']))).toBe('198.51.100.7');
    expect(trust.clientAddress(fakeRequest('127.0.0.1', ['X-Forwarded-For', '198.51.100.7, 10.0.0.5']))).toBe('198.51.100.7');
    expect(trust.clientAddress(fakeRequest('203.0.113.9', ['X-Forwarded-For', '6.6.6.6']))).toBe('203.0.113.9');
    expect(trust.clientAddress(fakeRequest('127.0.0.1', ['X-Forwarded-For', 'not an ip']))).toBe('127.0.0.1');
  });

  it('validates forwarded-allow-ips entries', () => {
    expect(parseAllowedAddress(' 10.0.0.0/8 ')).toBe('10.0.0.0/8');
    expect(parseAllowedAddress('fd00::/8')).toBe('fd00::/8');
    for (const bad of ['10.0.0.0/33', 'example.com', '10.0.0.1/8/8', '']) expect(() => parseAllowedAddress(bad)).toThrow();
  });
});
