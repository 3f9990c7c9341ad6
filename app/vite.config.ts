/**
 * The frontend's build (Vite, `npm run build`): frontend/ to dist/public/, served under /static/.
 * Content-hashed, minified files in dist/public/assets/ (nginx serves them with a year's immutable
 * Cache-Control), the export panel split into a chunk of its own (loaded on first use), and the
 * manifest (dist/public/.vite/manifest.json) the server reads once at boot to write the page's tags
 * (gantry/assets). Every asset gets a .gz and a .br beside it, with its mtime, for nginx's gzip_static
 * (and brotli_static where nginx has the module).
 */
import { readFile, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { type Plugin, defineConfig } from 'vite';

/** Below this, compression saves less than a request's headers: nginx sends the file as it is. */
const COMPRESS_MIN_BYTES = 256;
const COMPRESSIBLE = /\.(js|css|svg|json|html|txt|map)$/;

/** Writes NAME.gz and NAME.br beside every compressible asset, with its modification time. */
function precompress(dir: string): Plugin {
  return {
    name: 'gantry-precompress',
    apply: 'build',
    async closeBundle() {
      for (const name of await readdir(dir)) {
        if (!COMPRESSIBLE.test(name)) continue;
        const file = join(dir, name);
        const content = await readFile(file);
        if (content.length < COMPRESS_MIN_BYTES) continue;
        const { mtime } = await stat(file);
        const gz = gzipSync(content, { level: 9 });
        const br = brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
        for (const [suffix, data] of [
          ['.gz', gz],
          ['.br', br],
        ] as const) {
          await writeFile(file + suffix, data);
          // gzip_static: "the modification date and time of original and compressed files be the same".
          await utimes(file + suffix, mtime, mtime);
        }
      }
    },
  };
}

const OUT_DIR = 'dist/public';

/** The dev server (npm run dev), behind the local stack's nginx (gantry stack --dev-server /static/=...). */
const DEV_PORT = Number(process.env.VITE_PORT ?? 5173);

export default defineConfig(({ command }) => ({
  root: join(import.meta.dirname, 'frontend'),
  base: '/static/',
  // In development the dev server takes all of /static/, app/static's files included; nginx serves them in a build.
  publicDir: command === 'serve' ? join(import.meta.dirname, 'static') : false,
  server: {
    host: '127.0.0.1',
    port: DEV_PORT,
    strictPort: true,
    // The page comes from nginx: the HMR socket too (its port, the upgrade proxied under /static/).
    hmr: process.env.NGINX_PORT ? { clientPort: Number(process.env.NGINX_PORT) } : true,
  },
  build: {
    outDir: join(import.meta.dirname, OUT_DIR),
    emptyOutDir: true,
    assetsDir: 'assets',
    manifest: true,
    target: 'es2022',
    rolldownOptions: { input: { guestbook: join(import.meta.dirname, 'frontend/guestbook/main.ts') } },
  },
  plugins: [precompress(join(import.meta.dirname, OUT_DIR, 'assets'))],
}));
