import { describe, expect, it } from 'vitest';
import type { StackConfig } from '../../src/server/config-file.js';
import { stackSettings } from '../../src/stack/settings.js';

describe('the config file type', () => {
  it('names every gantry stack and gantry edge setting, and nothing else (StackConfig)', () => {
    // Every key of StackConfig, by the compiler: a missing or extra one fails to type-check.
    const keys = {
      nginxPort: 1,
      appPort: 1,
      nginxBin: 1,
      nginxTemplates: 1,
      static: 1,
      immutableStatic: 1,
      runDir: 1,
    } satisfies Record<keyof StackConfig, 1>;
    expect(Object.keys(keys).sort()).toEqual(Object.keys(stackSettings).sort());
  });
});
