/**
 * Manifest: what a sandbox's /workspace starts with. Entries are plain data so they can be pinned in the
 * AgentSpec; the `createSandbox` activity materializes them (in parallel, under a concurrency limit).
 */
import * as path from 'node:path';

export type ManifestEntry =
  | { type: 'file'; content: string; mode?: number }
  | { type: 'dir' }
  | { type: 'localDir'; path: string }
  /** With `subdir`, only that folder of the repository is copied (no .git), from a checkout cached on the worker. */
  | { type: 'gitRepo'; url: string; ref?: string; subdir?: string };

export interface Manifest {
  /** Keys are paths relative to /workspace. */
  entries?: Record<string, ManifestEntry>;
  env?: Record<string, string>;
}

export const file = (content: string, options: { mode?: number } = {}): ManifestEntry => ({ type: 'file', content, ...options });
export const dir = (): ManifestEntry => ({ type: 'dir' });
/** A directory on the worker's machine, copied in; relative paths resolve against the current directory. */
export const localDir = (dirPath: string): ManifestEntry => ({ type: 'localDir', path: path.resolve(dirPath) });
/** A git repository (URL or local path) cloned on the worker at `ref`, then copied in. */
export const gitRepo = (options: { url: string; ref?: string; subdir?: string }): ManifestEntry => ({
  type: 'gitRepo',
  url: /^[a-z]+:\/\//.test(options.url) || options.url.includes('@') ? options.url : path.resolve(options.url),
  ref: options.ref,
  ...(options.subdir === undefined ? {} : { subdir: options.subdir }),
});
