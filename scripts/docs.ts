/** `npm run docs`: regenerates README's settings reference and docs/errors.md's tables (a test fails when either is out of date). */
import { readFileSync, writeFileSync } from 'node:fs';
import { errorsReference } from './errors-reference.js';
import { ERRORS_BLOCK, replaceGenerated } from './markdown.js';
import { settingsReference } from './settings-reference.js';

const readme = new URL('../README.md', import.meta.url);
writeFileSync(readme, replaceGenerated(readFileSync(readme, 'utf8'), settingsReference()));
const errors = new URL('../docs/errors.md', import.meta.url);
writeFileSync(errors, replaceGenerated(readFileSync(errors, 'utf8'), errorsReference(), ERRORS_BLOCK));
