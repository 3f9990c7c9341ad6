/** docs/errors.md's tables, generated from the catalogue in packages/gantry/src/errors.ts. */
import { ERRORS, EXIT_CODE_DOCS, ExitCode } from '../packages/gantry/src/errors.js';

const cell = (text: string) => text.replace(/\|/g, '\\|');

export function errorsReference(): string {
  const exits = Object.entries(ExitCode).map(
    ([name, value]) => `| ${value} | \`${name}\` | ${cell(EXIT_CODE_DOCS[name as keyof typeof ExitCode])} |`,
  );
  const errors = Object.values(ERRORS).map(
    (spec) => `| \`${spec.code}\` | ${spec.exit} | ${cell(spec.doc)} | ${cell(spec.fix)} |`,
  );
  return [
    '## Exit codes',
    '',
    '| Exit | Name | Meaning |',
    '|---|---|---|',
    ...exits,
    '',
    '## Error codes',
    '',
    '| Code | Exit | Description | How to solve |',
    '|---|---|---|---|',
    ...errors,
  ].join('\n');
}
