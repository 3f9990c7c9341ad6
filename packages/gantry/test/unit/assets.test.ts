import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assetTags } from '../../src/assets.js';

async function manifestFile(manifest: unknown): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'gantry-assets-')), 'manifest.json');
  await writeFile(file, typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  return file;
}

// The guide's example: two entries sharing a chunk, which imports another; a lazy chunk beside them.
const MANIFEST = {
  '_shared-B7PI925R.js': {
    file: 'assets/shared-B7PI925R.js',
    name: 'shared',
    css: ['assets/shared-ChJ_j-JJ.css'],
    imports: ['_base.js'],
  },
  '_base.js': { file: 'assets/base-Dk2k1Z0a.js', name: 'base' },
  'views/foo.js': {
    file: 'assets/foo-BRBmoGS9.js',
    src: 'views/foo.js',
    isEntry: true,
    imports: ['_shared-B7PI925R.js'],
    dynamicImports: ['views/lazy.js'],
    css: ['assets/foo-5UjPuW-k.css'],
  },
  'views/bar.js': { file: 'assets/bar-gkvgaI9m.js', src: 'views/bar.js', isEntry: true, imports: ['_shared-B7PI925R.js'] },
  'views/lazy.js': { file: 'assets/lazy-Dd8a9.js', src: 'views/lazy.js', isDynamicEntry: true, imports: ['_shared-B7PI925R.js'] },
};

describe('assetTags (gantry/assets)', () => {
  it("writes the entry's and its imports' stylesheets, its module script, then a modulepreload per import", async () => {
    const assets = assetTags({ manifest: await manifestFile(MANIFEST), base: '/static/' });
    expect(assets.tags('views/foo.js').split('\n')).toEqual([
      '<link rel="stylesheet" href="/static/assets/foo-5UjPuW-k.css">',
      '<link rel="stylesheet" href="/static/assets/shared-ChJ_j-JJ.css">',
      '<script type="module" src="/static/assets/foo-BRBmoGS9.js"></script>',
      '<link rel="modulepreload" href="/static/assets/base-Dk2k1Z0a.js">',
      '<link rel="modulepreload" href="/static/assets/shared-B7PI925R.js">',
    ]);
    // The lazy chunk is not preloaded: it loads on use.
    expect(assets.tags('views/foo.js')).not.toContain('lazy');
    expect(assets.tags('views/bar.js')).toContain('<script type="module" src="/static/assets/bar-gkvgaI9m.js"></script>');
  });

  it('refuses an entry the build does not have, naming the ones it has', async () => {
    const file = await manifestFile(MANIFEST);
    const assets = assetTags({ manifest: file, base: '/static/' });
    expect(() => assets.tags('views/baz.js')).toThrow(
      `the frontend has no entry "views/baz.js" in ${file} (its entries: views/foo.js, views/bar.js): is it in the build's inputs?`,
    );
  });

  it('refuses, at once, a manifest that is missing or not JSON, and a base without its slash', async () => {
    expect(() => assetTags({ manifest: '/nonexistent/manifest.json', base: '/static/' })).toThrow(
      /the frontend's build manifest \/nonexistent\/manifest\.json cannot be read \(ENOENT\): build the frontend first/,
    );
    const broken = await manifestFile('{"views/foo.js":');
    expect(() => assetTags({ manifest: broken, base: '/' })).toThrow(/is not JSON/);
    expect(() => assetTags({ manifest: '/x', base: '/static' })).toThrow('base must end with a slash');
  });

  it("in development, loads Vite's client and the entry's source from the dev server, reading no manifest", () => {
    const assets = assetTags({ manifest: '/nonexistent/manifest.json', base: '/static/', devServer: true });
    expect(assets.tags('guestbook/main.ts').split('\n')).toEqual([
      '<script type="module" src="/static/@vite/client"></script>',
      '<script type="module" src="/static/guestbook/main.ts"></script>',
    ]);
  });
});
