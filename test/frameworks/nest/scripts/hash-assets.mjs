// Copies public/style.css to public/assets/style.<8 hex of sha256>.css and
// records the URL in dist/asset-manifest.json for the page to link.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const css = readFileSync('public/style.css');
const hash = createHash('sha256').update(css).digest('hex').slice(0, 8);
rmSync('public/assets', { recursive: true, force: true });
mkdirSync('public/assets');
writeFileSync(`public/assets/style.${hash}.css`, css);
writeFileSync('dist/asset-manifest.json', JSON.stringify({ 'style.css': `/assets/style.${hash}.css` }) + '\n');
