import { describe, expect, it } from 'vitest';
import { ProblemsError } from '../../src/errors.js';
import { formatBind } from '../../src/server/bind.js';
import { type ServerSettings, serverSettings } from '../../src/server/settings.js';
import { stackSettings } from '../../src/stack/settings.js';
import { type SettingSpec, envName, flagName, resolveSettings, unknownEnvProblems } from '../../src/settings/registry.js';

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProblemsError) return error.problems;
    throw error;
  }
  throw new Error('expected a ProblemsError');
}

describe('the settings registry', () => {
  it.each([...Object.entries(serverSettings), ...Object.entries(stackSettings)])(
    '%s: its default survives format -> parse, and it has docs',
    (key, spec: SettingSpec<unknown>) => {
      expect(spec.doc.length).toBeGreaterThan(20);
      expect(spec.section).not.toBe('');
      expect(flagName(key)).toMatch(/^[a-z][a-z-]+$/);
      expect(envName(key)).toMatch(/^GANTRY_[A-Z_]+$/);
      // An unset setting (null: off) is written "(off)" or "(none)", and set from an empty string.
      const text = spec.default === null ? '' : spec.codec.format(spec.default);
      expect(spec.codec.fromString(text)).toEqual(spec.default);
    },
  );

  it('derives flag and environment names from the key', () => {
    expect(flagName('gracefulTimeout')).toBe('graceful-timeout');
    expect(envName('gracefulTimeout')).toBe('GANTRY_GRACEFUL_TIMEOUT');
    expect(envName('forwardedAllowIps')).toBe('GANTRY_FORWARDED_ALLOW_IPS');
  });

  it('applies default < config file < environment < command line, and says where each value came from', () => {
    const resolved = resolveSettings<ServerSettings>(serverSettings, {
      file: { path: 'gantry.config.js', values: { workers: 3, threads: 4, keepAlive: 70, bind: '0.0.0.0:8080' } },
      env: { GANTRY_THREADS: '5', GANTRY_KEEP_ALIVE: '75' },
      flags: { 'keep-alive': '80' },
    });
    expect(resolved.values.workers).toBe(3);
    expect(resolved.sources.workers).toEqual({ kind: 'file', path: 'gantry.config.js' });
    expect(resolved.values.threads).toBe(5);
    expect(resolved.sources.threads).toEqual({ kind: 'env', name: 'GANTRY_THREADS' });
    expect(resolved.values.keepAlive).toBe(80);
    expect(resolved.sources.keepAlive).toEqual({ kind: 'flag', name: 'keep-alive' });
    expect(resolved.values.gracefulTimeout).toBe(30);
    expect(resolved.sources.gracefulTimeout).toEqual({ kind: 'default' });
    expect(resolved.values.bind.map(formatBind)).toEqual(['0.0.0.0:8080']);
  });

  it('reports every invalid value at once, naming the setting, the value, its source and what was expected', () => {
    const problems = problemsOf(() =>
      resolveSettings(serverSettings, {
        file: { path: 'gantry.config.ts', values: { workers: 0, wrokers: 2 } },
        env: { GANTRY_KEEP_ALIVE: 'soon', GANTRY_FORWARDED_ALLOW_IPS: '10.0.0.0/99' },
        flags: { bind: ['localhost'], 'log-level': 'loud' },
      }),
    );
    expect(problems).toEqual([
      'wrokers (config file gantry.config.ts) is not a setting; did you mean workers?',
      'bind: "localhost" from flag --bind is not valid; expected HOST:PORT, [IPV6]:PORT or unix:PATH',
      "workers: 0 from config file gantry.config.ts is not valid; expected an integer >= 1 and <= 1024, or auto (one per CPU of the container's quota, else of the machine)",
      'keepAlive: "soon" from env GANTRY_KEEP_ALIVE is not valid; expected a number of seconds >= 1',
      'forwardedAllowIps: "10.0.0.0/99" from env GANTRY_FORWARDED_ALLOW_IPS is not valid; expected *, an IP address or a CIDR range (10.0.0.0/8, fd00::/8)',
      'logLevel: "loud" from flag --log-level is not valid; expected one of debug, info, warn, error, fatal, silent',
    ]);
  });

  it('takes repeated --bind flags and comma-separated GANTRY_BIND as lists', () => {
    const fromFlags = resolveSettings<ServerSettings>(serverSettings, {
      flags: { bind: ['127.0.0.1:1', '[::1]:2', 'unix:/tmp/g.sock'] },
    });
    expect(fromFlags.values.bind).toEqual([
      { kind: 'tcp', host: '127.0.0.1', port: 1 },
      { kind: 'tcp', host: '::1', port: 2 },
      { kind: 'unix', path: '/tmp/g.sock' },
    ]);
    const fromEnv = resolveSettings<ServerSettings>(serverSettings, { env: { GANTRY_BIND: '127.0.0.1:1, 127.0.0.1:2' } });
    expect(fromEnv.values.bind.map(formatBind)).toEqual(['127.0.0.1:1', '127.0.0.1:2']);
  });

  it('treats an empty environment variable as unset', () => {
    expect(resolveSettings<ServerSettings>(serverSettings, { env: { GANTRY_WORKERS: '' } }).values.workers).toBe(2);
  });

  it('parses secure-scheme-headers from a string and from an object', () => {
    const fromEnv = resolveSettings<ServerSettings>(serverSettings, {
      env: { GANTRY_SECURE_SCHEME_HEADERS: 'X-Forwarded-Proto: https, X-Forwarded-Ssl: on' },
    });
    expect(fromEnv.values.secureSchemeHeaders).toEqual({ 'X-Forwarded-Proto': 'https', 'X-Forwarded-Ssl': 'on' });
    const problems = problemsOf(() =>
      resolveSettings(serverSettings, { file: { path: 'c.js', values: { secureSchemeHeaders: { 'Bad Header': 'x' } } } }),
    );
    expect(problems[0]).toMatch(/^secureSchemeHeaders: .* expected header: value pairs/);
  });

  it('flags unknown GANTRY_* variables, with a suggestion', () => {
    const known = new Set(Object.keys(serverSettings).map(envName));
    expect(unknownEnvProblems({ GANTRY_WORKRES: '3', GANTRY_WORKERS: '2', PATH: '/bin' }, known)).toEqual([
      'GANTRY_WORKRES is not a gantry setting; did you mean GANTRY_WORKERS?',
    ]);
  });
});
