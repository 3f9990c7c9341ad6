/**
 * Renders nginx templates the way the official nginx image does (envsubst over
 * /etc/nginx/templates/*.template, substituting only variables that are defined), so one template
 * serves the local stack and the container. nginx's own variables ($host, $request_id) are left alone;
 * an upper-case `${NAME}` with no value is an error here, where the image would hand it to nginx.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ErrorCode, GantryError } from '../errors.js';

export function renderTemplate(text: string, variables: Readonly<Record<string, string>>, name = 'template'): string {
  const missing = new Set<string>();
  const rendered = text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (placeholder, variable: string) => {
    const value = variables[variable];
    if (value !== undefined) return value;
    if (variable === variable.toUpperCase()) missing.add(variable);
    return placeholder;
  });
  if (missing.size > 0) {
    throw new GantryError(
      ErrorCode.NGINX_TEMPLATE,
      `${name} uses ${[...missing].map((v) => `\${${v}}`).join(', ')}, which no one sets.`,
    );
  }
  return rendered;
}

/** Renders every `*.template` in `templateDir` into `outputDir` as `*` (gantry.conf.template -> gantry.conf). */
export async function renderTemplateDir(
  templateDir: string,
  outputDir: string,
  variables: Readonly<Record<string, string>>,
): Promise<void> {
  const entries = await readdir(templateDir).catch((error: NodeJS.ErrnoException) => {
    throw new GantryError(ErrorCode.NGINX_TEMPLATE, `Cannot read the nginx template directory ${templateDir} (${error.code}).`);
  });
  const templates = entries.filter((name) => name.endsWith('.template')).sort();
  if (templates.length === 0) {
    throw new GantryError(ErrorCode.NGINX_TEMPLATE, `No *.template file in ${templateDir}.`);
  }
  for (const name of templates) {
    const text = await readFile(join(templateDir, name), 'utf8');
    await writeFile(join(outputDir, basename(name, '.template')), renderTemplate(text, variables, name));
  }
}
