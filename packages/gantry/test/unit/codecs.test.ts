import { describe, expect, it } from 'vitest';
import { parseBind } from '../../src/server/bind.js';
import { InvalidValue, boolean, integer, list, parseBoolean, seconds } from '../../src/settings/codecs.js';

describe('codecs', () => {
  it('reads booleans strictly: "false" is false and "maybe" is an error', () => {
    expect(['true', 'TRUE', '1', 'yes', 'on'].map(parseBoolean)).toEqual([true, true, true, true, true]);
    expect(['false', '0', 'no', 'off'].map(parseBoolean)).toEqual([false, false, false, false]);
    expect(parseBoolean('maybe')).toBeUndefined();
    expect(() => boolean().fromString('maybe')).toThrow(InvalidValue);
    expect(boolean().fromValue(false)).toBe(false);
  });

  it('reads integers and seconds, refusing decimals, words and out-of-range values', () => {
    const workers = integer({ min: 1, max: 4 });
    expect(workers.fromString(' 3 ')).toBe(3);
    expect(workers.fromValue(2)).toBe(2);
    for (const bad of ['1.5', 'two', '', '5', '0x2']) expect(() => workers.fromString(bad)).toThrow(InvalidValue);
    expect(() => workers.fromValue(2.5)).toThrow(InvalidValue);
    expect(seconds().fromString('0.5')).toBe(0.5);
    expect(() => seconds().fromString('-1')).toThrow(InvalidValue);
  });

  it('reads lists from commas and from arrays', () => {
    const ints = list(integer());
    expect(ints.fromString('1, 2,3')).toEqual([1, 2, 3]);
    expect(ints.fromValue([1, '2'])).toEqual([1, 2]);
    expect(() => list(integer(), { min: 1 }).fromString(' , ')).toThrow(InvalidValue);
  });

  it('reads bind addresses: HOST:PORT, [IPV6]:PORT and unix:PATH', () => {
    expect(parseBind('0.0.0.0:8080')).toEqual({ kind: 'tcp', host: '0.0.0.0', port: 8080 });
    expect(parseBind('localhost:80')).toEqual({ kind: 'tcp', host: 'localhost', port: 80 });
    expect(parseBind('[::]:8080')).toEqual({ kind: 'tcp', host: '::', port: 8080 });
    expect(parseBind('unix:/run/app.sock')).toEqual({ kind: 'unix', path: '/run/app.sock' });
    for (const bad of ['8080', 'host', 'host:99999', '::1:80', 'unix:', 'a b:80'])
      expect(() => parseBind(bad)).toThrow(InvalidValue);
  });
});
