import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { ConfigError, defineSettings, inspectConfig, loadConfig, maskUrlPassword, required } from '../../src/config/index.js';

const settings = defineSettings({
  base: {
    DB_CONNECTION_STRING: 'BASE DB STRING',
    MSG: 'Inside BASE CONFIG',
    PORT: 8080,
    DEBUG: false,
    API_KEY: required('string'),
  },
  profiles: {
    Dev: { DB_CONNECTION_STRING: 'DEV DB STRING', MSG: 'Inside DEV CONFIG', DEBUG: true, API_KEY: 'dev-key' },
    Production: { DB_CONNECTION_STRING: 'PRODUCTION DB STRING', MSG: 'Inside PRODUCTION CONFIG' },
  },
  secrets: ['DB_CONNECTION_STRING', 'API_KEY'],
});

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(settings, { env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

function tempFile(contents: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'gantry-config-')), 'value');
  writeFileSync(file, contents);
  return file;
}

describe('app configuration', () => {
  it('uses the Dev profile by default, inheriting base values, with typed access', () => {
    const config = loadConfig(settings, { env: {} });
    expect([config.DB_CONNECTION_STRING, config.MSG, config.PORT, config.DEBUG, config.API_KEY]).toEqual([
      'DEV DB STRING',
      'Inside DEV CONFIG',
      8080,
      true,
      'dev-key',
    ]);
    // Secrets are there to read, not to enumerate.
    expect(Object.keys(config)).toEqual(['MSG', 'PORT', 'DEBUG']);
    expectTypeOf(config.MSG).toEqualTypeOf<string>();
    expectTypeOf(config.PORT).toEqualTypeOf<number>();
    expectTypeOf(config.DEBUG).toEqualTypeOf<boolean>();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('selects the profile with APP_ENV, case-insensitively', () => {
    expect(loadConfig(settings, { env: { APP_ENV: 'production', API_KEY: 'k' } }).MSG).toBe('Inside PRODUCTION CONFIG');
    expect(loadConfig(settings, { env: { APP_ENV: 'Base', API_KEY: 'k' } }).MSG).toBe('Inside BASE CONFIG');
  });

  it('rejects an unknown APP_ENV, listing the profiles', () => {
    expect(problems({ APP_ENV: 'Staging' })).toEqual([
      'APP_ENV: "Staging" is not a profile; expected one of Base, Dev, Production',
    ]);
  });

  it('overrides any key from the environment, coercing to the type of its base value', () => {
    const config = loadConfig(settings, { env: { MSG: 'hello', PORT: '9090', DEBUG: 'off' } });
    expect([config.MSG, config.PORT, config.DEBUG]).toEqual(['hello', 9090, false]);
  });

  it('reads <KEY>_FILE (Docker secrets), without the trailing newline', () => {
    const config = loadConfig(settings, { env: { APP_ENV: 'Production', API_KEY_FILE: tempFile('s3cret\n') } });
    expect(config.API_KEY).toBe('s3cret');
    const report = inspectConfig(settings, { env: { API_KEY_FILE: '/run/secrets/api_key_missing' } });
    expect(report.problems).toEqual(['API_KEY: cannot read /run/secrets/api_key_missing named by API_KEY_FILE (ENOENT)']);
  });

  it('reports every problem at once, naming the key, the source and what was expected', () => {
    expect(problems({ APP_ENV: 'Production', PORT: 'eighty', DEBUG: 'maybe', MSG: 'x', MSG_FILE: tempFile('y') })).toEqual([
      'MSG: both MSG and MSG_FILE are set; set only one',
      'PORT: "eighty" from env PORT is not valid; expected a number',
      'DEBUG: "maybe" from env DEBUG is not valid; expected true or false (also 1/0, yes/no, on/off)',
      'API_KEY: no value in profile Production; set API_KEY or API_KEY_FILE',
    ]);
  });

  it('never shows a secret: not in errors, JSON, inspection or gantry config output', () => {
    const secret = 'postgres://app:hunter2@db/app';
    const errors = problems({ APP_ENV: 'Production', API_KEY: 'k', PORT: 'x', DB_CONNECTION_STRING: secret }).join('\n');
    expect(errors).not.toContain('hunter2');
    const config = loadConfig(settings, { env: { DB_CONNECTION_STRING: secret } });
    expect(config.DB_CONNECTION_STRING).toBe(secret);
    expect(JSON.stringify(config)).not.toContain('hunter2');
    expect(JSON.stringify(config)).toContain('[redacted]');
    expect(inspect(config)).not.toContain('hunter2');
    expect(`${JSON.stringify({ config })}`).not.toContain('hunter2');
    // Not enumerable: spreading, Object.entries and a logger merging the object do not see it.
    expect(JSON.stringify({ ...config })).not.toContain('hunter2');
    expect(JSON.stringify(Object.entries(config))).not.toContain('hunter2');
    const lines: string[] = [];
    pino({ base: null }, { write: (line: string) => lines.push(line) }).info(config, 'config loaded');
    pino({ base: null }, { write: (line: string) => lines.push(line) }).info({ config }, 'config loaded');
    expect(lines.join('')).not.toContain('hunter2');
    expect(lines.join('')).toContain('Inside DEV CONFIG');
    const report = inspectConfig(settings, { env: { API_KEY: 'not-shown-either' } });
    expect(JSON.stringify(report.entries.filter((e) => e.secret).map((e) => e.source))).not.toContain('not-shown-either');
  });

  it('says where each value came from', () => {
    const report = inspectConfig(settings, { env: { APP_ENV: 'Production', MSG: 'hi', API_KEY_FILE: tempFile('k') } });
    const sources = Object.fromEntries(
      report.entries.map((e) => [e.key, e.source?.kind === 'profile' ? `profile ${e.source.profile}` : e.source?.kind]),
    );
    expect(sources).toEqual({
      DB_CONNECTION_STRING: 'profile Production',
      MSG: 'env',
      PORT: 'profile Base',
      DEBUG: 'profile Base',
      API_KEY: 'file',
    });
    expect(report.profileSource).toBe('APP_ENV');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig(settings, { env: { MSG: '' } }).MSG).toBe('Inside DEV CONFIG');
  });

  it('masks the password of a URL-shaped value, whatever characters it has, and nothing else', () => {
    expect(maskUrlPassword('postgres://u:pw@h/db')).toBe('postgres://u:***@h/db');
    expect(maskUrlPassword('postgres://app:ab/cd+ef==@db/app')).toBe('postgres://app:***@db/app');
    expect(maskUrlPassword('redis://:p#ss@h')).toBe('redis://:***@h');
    expect(maskUrlPassword('amqp://u:p?w@h')).toBe('amqp://u:***@h');
    expect(maskUrlPassword('mysql://u:p@ss@h:3306/db')).toBe('mysql://u:***@h:3306/db');
    expect(maskUrlPassword('redis://:pw@cache:6379/0')).toBe('redis://:***@cache:6379/0');
    expect(maskUrlPassword('postgres://u@h/db')).toBe('postgres://u@h/db');
    expect(maskUrlPassword('DEV DB STRING')).toBe('DEV DB STRING');
    expect(maskUrlPassword('a:b@c')).toBe('a:b@c');
  });

  it('refuses a definition whose profiles do not match base', () => {
    expect(() =>
      defineSettings({ base: { PORT: 1 }, profiles: { Dev: { PORT: 'x' as unknown as number, OTHER: 1 } as never } }),
    ).toThrow(/profile Dev sets PORT to a string; base declares a number; profile Dev sets OTHER, which base does not declare/);
  });
});
