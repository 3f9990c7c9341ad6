/**
 * Every generated part of the docs matches what it is generated from: README's settings reference (the
 * registries; `npm run docs`), docs/errors.md (the error catalogue; `npm run docs`), docs/architecture.md's source map (the modules' opening comments) and README's benchmark tables (bench/results/latest.json and techempower.json, the last full run of
 * `npm run bench`; `npm run bench -- --publish` renders them again).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Results, markdown } from '../../bench/report.js';
import { BENCH_BLOCK } from '../../bench/publish.js';
import { TECHEMPOWER_BLOCK, type TechEmpowerResults, markdown as databaseMarkdown } from '../../bench/techempower/report.js';
import { errorsReference } from '../../scripts/errors-reference.js';
import { ERRORS_BLOCK, SOURCE_MAP_BLOCK, replaceGenerated } from '../../scripts/markdown.js';
import { REPO_ROOT } from '../../packages/gantry/test/helpers/process.js';
import { settingsReference } from '../../scripts/settings-reference.js';
import { sourceMap } from '../../scripts/source-map.js';

const readme = readFileSync(`${REPO_ROOT}README.md`, 'utf8');

describe('README', () => {
  it('has the settings reference generated from the registries (run `npm run docs` to update it)', () => {
    expect(readme).toBe(replaceGenerated(readme, settingsReference()));
  });

  it('has the benchmark tables of the committed results file (bench/results/latest.json)', () => {
    const results = JSON.parse(readFileSync(`${REPO_ROOT}bench/results/latest.json`, 'utf8')) as Results;
    expect(readme).toBe(replaceGenerated(readme, markdown(results).trimEnd(), BENCH_BLOCK));
  });

  it('has the database-backed benchmark tables of the committed results file (bench/results/techempower.json)', () => {
    const results = JSON.parse(readFileSync(`${REPO_ROOT}bench/results/techempower.json`, 'utf8')) as TechEmpowerResults;
    expect(readme).toBe(replaceGenerated(readme, databaseMarkdown(results).trimEnd(), TECHEMPOWER_BLOCK));
  });
});

describe('docs/errors.md', () => {
  it('has the exit codes and error codes of the catalogue (packages/gantry/src/errors.ts; npm run docs)', () => {
    const doc = readFileSync(`${REPO_ROOT}docs/errors.md`, 'utf8');
    expect(doc).toBe(replaceGenerated(doc, errorsReference(), ERRORS_BLOCK));
  });
});

describe('docs/architecture.md', () => {
  it('maps every module of the package, each by the comment it opens with (npm run docs)', () => {
    const doc = readFileSync(`${REPO_ROOT}docs/architecture.md`, 'utf8');
    expect(doc).toBe(replaceGenerated(doc, sourceMap(), SOURCE_MAP_BLOCK));
  });
});
