import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode, ExitCode } from '../../src/errors.js';
import { REPO_ROOT } from '../helpers/process.js';

const doc = readFileSync(`${REPO_ROOT}docs/errors.md`, 'utf8');

describe('the errors page', () => {
  it.each(Object.values(ErrorCode))('documents %s', (code) => {
    expect(doc).toMatch(new RegExp(`^\\| \`${code}\` +\\|`, 'm'));
  });

  it.each(Object.entries(ExitCode))('documents exit code %s', (name, value) => {
    expect(doc).toMatch(new RegExp(`^\\| ${value} +\\| \`${name}\` +\\|`, 'm'));
  });
});
