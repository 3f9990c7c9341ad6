/** `npm run docs`: regenerates README's settings reference (a unit test fails when it is out of date). */
import { readFileSync, writeFileSync } from 'node:fs';
import { replaceGenerated } from './markdown.js';
import { settingsReference } from './settings-reference.js';

const readme = new URL('../README.md', import.meta.url);
writeFileSync(readme, replaceGenerated(readFileSync(readme, 'utf8'), settingsReference()));
