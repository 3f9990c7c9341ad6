/** `gantry config` and the app's gantry.config, as a user runs them from the repository root. */
import { describe, expect, it } from 'vitest';
import { cleanUpProcesses, gantry } from '../../../packages/gantry/test/helpers/process.js';

cleanUpProcesses();

const SETTINGS = 'app/dist/src/config/settings.js';

describe('gantry config', () => {
  it('prints the profile, then each key, its value (secrets redacted) and its source', async () => {
    const proc = gantry(['config', SETTINGS], { env: { MSG: 'hello', DB_CONNECTION_STRING: 'postgres://u:hunter2@db/app' } });
    expect((await proc.exit()).code).toBe(0);
    expect(proc.stdout).toMatch(/^Profile: Dev \(default; set APP_ENV to choose; profiles: Base, Dev, Production\)$/m);
    expect(proc.stdout).toMatch(/^DB_CONNECTION_STRING +\[redacted\] +env DB_CONNECTION_STRING$/m);
    expect(proc.stdout).toMatch(/^MSG +hello +env MSG$/m);
    expect(proc.stdout).not.toContain('hunter2');
  });

  it('shows the Production profile, and JSON for tools', async () => {
    const proc = gantry(['config', '--json', SETTINGS], {
      env: { APP_ENV: 'Production', DB_CONNECTION_STRING: 'postgres://u:p@db/app' },
    });
    expect((await proc.exit()).code).toBe(0);
    const report = JSON.parse(proc.stdout) as { profile: string; entries: { key: string; value: string; source: string }[] };
    expect(report.profile).toBe('Production');
    expect(report.entries).toContainEqual({
      key: 'MSG',
      value: 'Inside PRODUCTION CONFIG',
      source: 'profile Production',
      secret: false,
    });
  });

  it('exits 2 in Production without DB_CONNECTION_STRING (it has no default there)', async () => {
    const proc = gantry(['config', SETTINGS], { env: { APP_ENV: 'Production' } });
    expect((await proc.exit()).code).toBe(2);
    expect(proc.stdout + proc.stderr).toMatch(/DB_CONNECTION_STRING/);
  });

  it('exits 2 and lists every problem', async () => {
    const proc = gantry(['config', SETTINGS], { env: { APP_ENV: 'Staging' } });
    expect((await proc.exit()).code).toBe(2);
    expect(proc.stdout).toContain('APP_ENV: "Staging" is not a profile; expected one of Base, Dev, Production');
  });
});

describe("the app's gantry.config", () => {
  it("mirrors the seed's gunicorn_config.py, with GANTRY_WORKERS, GANTRY_THREADS and GANTRY_BIND overriding it", async () => {
    const defaults = gantry(['serve', '--config', 'app/dist/gantry.config.js', '--print-config']);
    expect((await defaults.exit()).code).toBe(0);
    expect(defaults.stdout).toMatch(/^workers = 2 +# config file app\/dist\/gantry\.config\.js$/m);
    expect(defaults.stdout).toMatch(/^threads = 4 +# config file/m);
    expect(defaults.stdout).toMatch(/^bind = 0\.0\.0\.0:8080 +# config file/m);
    const overridden = gantry(['serve', '--config', 'app/dist/gantry.config.js', '--print-config'], {
      env: { GANTRY_WORKERS: '3', GANTRY_THREADS: '8', GANTRY_BIND: '127.0.0.1:9000' },
    });
    expect((await overridden.exit()).code).toBe(0);
    expect(overridden.stdout).toMatch(/^workers = 3 +# env GANTRY_WORKERS$/m);
    expect(overridden.stdout).toMatch(/^threads = 8 +# env GANTRY_THREADS$/m);
    expect(overridden.stdout).toMatch(/^bind = 127\.0\.0\.1:9000 +# env GANTRY_BIND$/m);
  });
});
