import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settingsReference } from '../../../../scripts/settings-reference.js';
import { replaceGenerated } from '../../src/settings/markdown.js';
import { REPO_ROOT } from '../helpers/process.js';

describe('README', () => {
  it('has the settings reference generated from the registries (run `npm run docs` to update it)', () => {
    const readme = readFileSync(`${REPO_ROOT}README.md`, 'utf8');
    expect(readme).toBe(replaceGenerated(readme, settingsReference()));
  });
});
