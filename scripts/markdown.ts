/** The settings reference in Markdown, generated from the registries (README's table; see scripts/docs.ts). */
import {
  type Registry,
  type SettingSpec,
  envName,
  flagName,
  isBooleanSetting,
} from '../packages/gantry/src/settings/registry.js';

const cell = (text: string) => text.replace(/\|/g, '\\|');

export function settingsTable<S>(registry: Partial<Registry<S>>, configKeys: boolean): string {
  const header = configKeys
    ? '| Flag | Environment | Config key | Default | Description |\n|---|---|---|---|---|'
    : '| Flag | Environment | Default | Description |\n|---|---|---|---|';
  const rows = Object.entries(registry as Record<string, SettingSpec<unknown>>).map(([key, spec]) => {
    const negatable = isBooleanSetting(spec) ? '[no-]' : '';
    const flag = `\`--${negatable}${flagName(key)}\`${spec.short ? `, \`-${spec.short}\`` : ''}${spec.repeatable ? ' (repeatable)' : ''}`;
    const columns = [
      flag,
      `\`${envName(key)}\``,
      ...(configKeys ? [`\`${key}\``] : []),
      `\`${spec.codec.format(spec.default)}\``,
      spec.doc,
    ];
    return `| ${columns.map(cell).join(' | ')} |`;
  });
  return [header, ...rows].join('\n');
}

/** A generated block's markers: `<!-- generated:NAME:start (COMMAND) -->` ... `<!-- generated:NAME:end -->`. */
export interface GeneratedBlock {
  readonly name: string;
  readonly command: string;
}

export const SETTINGS_BLOCK: GeneratedBlock = { name: 'settings', command: 'npm run docs' };
export const ERRORS_BLOCK: GeneratedBlock = { name: 'errors', command: 'npm run docs' };
export const SOURCE_MAP_BLOCK: GeneratedBlock = { name: 'source-map', command: 'npm run docs' };

/** Replaces a generated block of a document, or throws if its markers are missing. */
export function replaceGenerated(document: string, content: string, block: GeneratedBlock = SETTINGS_BLOCK): string {
  const startMarker = `<!-- generated:${block.name}:start (${block.command}) -->`;
  const endMarker = `<!-- generated:${block.name}:end -->`;
  const start = document.indexOf(startMarker);
  const end = document.indexOf(endMarker);
  if (start < 0 || end < start) throw new Error(`the document has no ${startMarker} ... ${endMarker} block`);
  return document.slice(0, start + startMarker.length) + '\n' + content + '\n' + document.slice(end);
}
