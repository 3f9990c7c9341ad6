/**
 * gantry/assets: the tags a server-rendered page needs for a Vite-built entry, from Vite's build
 * manifest (`build.manifest: true`), as Vite's backend-integration guide lays out and Laravel's and
 * vite_ruby's helpers do: the stylesheets of the entry and of every chunk it imports, the entry's
 * module script, then a modulepreload per imported chunk (so the browser fetches them in parallel, not
 * one import after another). Dynamic imports are left to load on use. The manifest is read once, when
 * the helper is made (at boot); an entry that is not in it is an error then, naming the ones that are,
 * not a page with a broken script tag. In development (`devServer: true`), the tags load Vite's client
 * and the entry's source from the dev server under `base` (behind the same nginx: `gantry stack
 * --dev-server`), with hot module replacement, and no manifest is read.
 */
import { readFileSync } from 'node:fs';

/** One chunk of Vite's manifest (vite's ManifestChunk, the fields used here). */
interface ManifestChunk {
  readonly file: string;
  readonly css?: readonly string[];
  readonly imports?: readonly string[];
  readonly isEntry?: boolean;
}

type Manifest = Readonly<Record<string, ManifestChunk>>;

export interface AssetTagsOptions {
  /** The manifest's path: <outDir>/.vite/manifest.json. */
  readonly manifest: string | URL;
  /** The URL the build's files are served under (Vite's `base`), with its trailing slash: "/static/". */
  readonly base: string;
  /** Vite's dev server serves `base` (development): no manifest, the sources themselves. */
  readonly devServer?: boolean;
}

export interface AssetTags {
  /** The tags for `entry` (its source path relative to Vite's root, as the manifest names it), for <head>. */
  tags(entry: string): string;
}

const escapeAttribute = (value: string) => value.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;');

function readManifest(path: string | URL): Manifest {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(
      `the frontend's build manifest ${String(path)} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}): build the frontend first (vite build, with build.manifest: true)`,
      { cause: error },
    );
  }
  try {
    return JSON.parse(text) as Manifest;
  } catch (error) {
    throw new Error(`the frontend's build manifest ${String(path)} is not JSON: ${(error as Error).message}`, { cause: error });
  }
}

/** The chunks `name` imports, each once, dependencies first (the guide's importedChunks()). */
function importedChunks(manifest: Manifest, name: string, seen = new Set<string>()): ManifestChunk[] {
  const chunks: ManifestChunk[] = [];
  for (const imported of manifest[name]?.imports ?? []) {
    if (seen.has(imported)) continue;
    seen.add(imported);
    const chunk = manifest[imported];
    if (!chunk) continue;
    chunks.push(...importedChunks(manifest, imported, seen), chunk);
  }
  return chunks;
}

export function assetTags({ manifest: path, base, devServer = false }: AssetTagsOptions): AssetTags {
  if (!base.endsWith('/')) throw new RangeError(`base must end with a slash, as Vite's does: "${base}/"`);
  const url = (file: string) => escapeAttribute(base + file);
  if (devServer) {
    const script = (file: string) => `<script type="module" src="${url(file)}"></script>`;
    return { tags: (entry) => `${script('@vite/client')}\n${script(entry)}` };
  }
  const manifest = readManifest(path);
  const rendered = new Map<string, string>();
  return {
    tags(entry) {
      const known = rendered.get(entry);
      if (known !== undefined) return known;
      const chunk = manifest[entry];
      if (!chunk) {
        const entries = Object.entries(manifest)
          .filter(([, c]) => c.isEntry)
          .map(([name]) => name);
        throw new Error(
          `the frontend has no entry "${entry}" in ${String(path)} (its entries: ${entries.join(', ') || 'none'}): is it in the build's inputs?`,
        );
      }
      const imports = importedChunks(manifest, entry);
      const styles = [chunk, ...imports].flatMap((c) => c.css ?? []);
      const tags = [
        ...[...new Set(styles)].map((file) => `<link rel="stylesheet" href="${url(file)}">`),
        `<script type="module" src="${url(chunk.file)}"></script>`,
        ...imports.map((c) => `<link rel="modulepreload" href="${url(c.file)}">`),
      ].join('\n');
      rendered.set(entry, tags);
      return tags;
    },
  };
}
