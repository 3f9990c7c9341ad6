// @ts-check
import { defineConfig } from 'astro/config';
import node from '@astrojs/node';

export default defineConfig({
  output: 'server',
  adapter: node({ mode: 'standalone' }),
  // Always emit the stylesheet as a hashed /_astro/*.css file (no inlining).
  build: { inlineStylesheets: 'never' },
});
