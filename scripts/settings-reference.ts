/** README's settings reference, generated from the registries. */
import { jobWorkerSettings, serverSettings } from '../packages/gantry/src/server/settings.js';
import { settingsTable } from './markdown.js';
import { stackSettings } from '../packages/gantry/src/stack/settings.js';

export function settingsReference(): string {
  return [
    '#### `gantry serve`',
    '',
    settingsTable(serverSettings, true),
    '',
    '#### `gantry run` (job workers: the `gantry serve` settings they have)',
    '',
    settingsTable(jobWorkerSettings, true),
    '',
    '#### `gantry stack` (it also takes every `gantry serve` setting)',
    '',
    settingsTable(stackSettings, false),
  ].join('\n');
}
