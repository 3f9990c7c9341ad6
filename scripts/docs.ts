/**
 * `npm run docs`: regenerates README's settings reference, docs/errors.md's tables and docs/architecture.md's
 * source map (a test fails when one is out of date).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { errorsReference } from './errors-reference.js';
import { ERRORS_BLOCK, SOURCE_MAP_BLOCK, replaceGenerated } from './markdown.js';
import { settingsReference } from './settings-reference.js';
import { sourceMap } from './source-map.js';

const readme = new URL('../README.md', import.meta.url);
writeFileSync(readme, replaceGenerated(readFileSync(readme, 'utf8'), settingsReference()));
const errors = new URL('../docs/errors.md', import.meta.url);
writeFileSync(errors, replaceGenerated(readFileSync(errors, 'utf8'), errorsReference(), ERRORS_BLOCK));
const architecture = new URL('../docs/architecture.md', import.meta.url);
writeFileSync(architecture, replaceGenerated(readFileSync(architecture, 'utf8'), sourceMap(), SOURCE_MAP_BLOCK));
