/**
 * docs/architecture.md's map of the package's source: every module under packages/gantry/src, by room,
 * with the first sentence of the comment it opens with (see scripts/docs.ts; a test keeps it current).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('../packages/gantry/src/', import.meta.url));

/** The first sentence of the file's opening doc comment (of its first paragraph): what the module is for. */
function purpose(file: string): string {
  const header = /^\/\*\*([\s\S]*?)\*\//.exec(readFileSync(file, 'utf8'));
  if (!header?.[1]) throw new Error(`${file} does not open with a comment saying what it is for`);
  const comment = header[1].split('\n').map((line) => line.replace(/^\s*\*\s?/, '').trim());
  // The first paragraph: up to a blank line, a list or an example.
  const stop = comment.findIndex((line, index) => index > 0 && (line === '' || /^(- |export |import )/.test(line)));
  const text = comment
    .slice(0, stop < 0 ? undefined : stop)
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/:$/, '.');
  const end = text.search(/\.(\s|$)/);
  return markdownText(end < 0 ? text : text.slice(0, end + 1));
}

/** Underscores outside code spans escaped, so that `__init__` stays text. */
function markdownText(text: string): string {
  return text
    .split('`')
    .map((part, index) => (index % 2 === 0 ? part.replace(/_/g, '\\_') : part))
    .join('`');
}

function lines(directory: string, depth: number): string[] {
  const entries = readdirSync(directory, { withFileTypes: true }).sort((a, b) =>
    a.isDirectory() === b.isDirectory() ? a.name.localeCompare(b.name) : a.isDirectory() ? 1 : -1,
  );
  const indent = '  '.repeat(depth);
  return entries.flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return [`${indent}- **${entry.name}/**`, ...lines(path, depth + 1)];
    return entry.name.endsWith('.ts') ? [`${indent}- \`${entry.name}\`: ${purpose(path)}`] : [];
  });
}

export function sourceMap(): string {
  // Blank lines around the list, as prettier writes them.
  return ['', '- **packages/gantry/src/**', ...lines(SOURCE, 1), ''].join('\n');
}
