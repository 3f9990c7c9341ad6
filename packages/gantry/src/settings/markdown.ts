/** The settings reference in Markdown, generated from the registries (README's table; see scripts/docs.ts). */
import { type Registry, type SettingSpec, envName, flagName } from './registry.js';

const cell = (text: string) => text.replace(/\|/g, '\\|');

export function settingsTable<S>(registry: Registry<S>, configKeys: boolean): string {
  const header = configKeys
    ? '| Flag | Environment | Config key | Default | Description |\n|---|---|---|---|---|'
    : '| Flag | Environment | Default | Description |\n|---|---|---|---|';
  const rows = Object.entries<SettingSpec<unknown>>(registry).map(([key, spec]) => {
    const negatable = spec.codec.meta === 'BOOL' ? '[no-]' : '';
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

export const GENERATED_START = '<!-- generated:settings:start (npm run docs) -->';
export const GENERATED_END = '<!-- generated:settings:end -->';

/** Replaces the generated block of a document, or throws if the markers are missing. */
export function replaceGenerated(document: string, block: string): string {
  const start = document.indexOf(GENERATED_START);
  const end = document.indexOf(GENERATED_END);
  if (start < 0 || end < start) throw new Error(`the document has no ${GENERATED_START} ... ${GENERATED_END} block`);
  return document.slice(0, start + GENERATED_START.length) + '\n' + block + '\n' + document.slice(end);
}
