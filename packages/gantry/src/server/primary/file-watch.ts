/**
 * `--reload` (development only, like gunicorn's): the primary watches the app's directory tree and the
 * config file, and a change reloads gracefully, as SIGHUP does (new workers with the new code, the old
 * ones drain). Changes are gathered for a moment (an editor's save, a build writing many files) so that
 * one burst is one reload. node_modules, dotfiles and source maps are not watched.
 */
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, relative } from 'node:path';

const IGNORED = /(^|[/\\])(node_modules|\.[^/\\]+)([/\\]|$)|\.map$|\.tsbuildinfo$/;

export interface WatchTarget {
  /** A directory, watched with everything in it. */
  readonly dir?: string;
  /** One file, watched through its directory (editors replace a file on save). */
  readonly file?: string;
}

/** Calls `onChange` with the changed files (relative to `cwd`) once a burst of changes is over; returns the stop. */
export function watchForChanges(
  targets: readonly WatchTarget[],
  cwd: string,
  onChange: (files: readonly string[]) => void,
  { settleMs = 300 }: { settleMs?: number } = {},
): () => void {
  const changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const noticed = (file: string) => {
    if (IGNORED.test(file)) return;
    changed.add(relative(cwd, file) || file);
    clearTimeout(timer);
    timer = setTimeout(() => {
      const files = [...changed];
      changed.clear();
      onChange(files);
    }, settleMs);
  };
  const watchers: FSWatcher[] = targets.map(({ dir, file }) => {
    if (dir !== undefined)
      return watch(dir, { recursive: true, persistent: false }, (_event, name) => name && noticed(`${dir}/${name}`));
    const only = basename(file!);
    return watch(dirname(file!), { persistent: false }, (_event, name) => name === only && noticed(file!));
  });
  return () => {
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}
