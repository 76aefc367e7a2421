/**
 * Manifest: what a sandbox's /workspace starts with. Entries are plain data so they can be pinned in the
 * AgentSpec; the `createSandbox` activity materializes them (in parallel, under a concurrency limit).
 */
import * as path from 'node:path';
import type { MaybeSecret, SecretRef } from './secret.js';

export type ManifestEntry =
  | { type: 'file'; content: string; mode?: number }
  | { type: 'dir' }
  /** `fromRun`: named by a run's start request, so copied in only from under the worker's `localDirs` roots. */
  | { type: 'localDir'; path: string; fromRun?: boolean }
  /**
   * With `subdir`, only that folder of the repository is copied (no .git), from a checkout cached on the worker.
   * `auth` is a secret holding a token (or `user:password`), sent as an HTTP header while cloning, never stored.
   */
  | { type: 'gitRepo'; url: string; ref?: string; subdir?: string; auth?: SecretRef };

export interface Manifest {
  /** Keys are paths relative to /workspace. */
  entries?: Record<string, ManifestEntry>;
  /** Environment of the sandbox's commands; `secret('NAME')` values are resolved on the worker when it starts. */
  env?: Record<string, MaybeSecret>;
}

export const file = (content: string, options: { mode?: number } = {}): ManifestEntry => ({
  type: 'file',
  content,
  ...options,
});
export const dir = (): ManifestEntry => ({ type: 'dir' });
/** A directory on the worker's machine, copied in; relative paths resolve against the current directory. */
export const localDir = (dirPath: string): ManifestEntry => ({ type: 'localDir', path: path.resolve(dirPath) });
/**
 * A git repository (URL or local path) cloned on the worker at `ref`, then copied in. Credentials go in `auth`
 * (a `secret()`), never in the URL: the URL is recorded in the AgentSpec, so a token in it would enter history.
 */
export const gitRepo = (options: { url: string; ref?: string; subdir?: string; auth?: SecretRef }): ManifestEntry => {
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(options.url)) {
    throw new TypeError(
      `gitRepo url '${options.url.replace(/\/\/[^/@]*@/, '//***@')}' has a credential in it; pass it as auth: secret('NAME')`,
    );
  }
  return {
    type: 'gitRepo',
    url: /^[a-z]+:\/\//.test(options.url) || options.url.includes('@') ? options.url : path.resolve(options.url),
    ref: options.ref,
    ...(options.subdir === undefined ? {} : { subdir: options.subdir }),
    ...(options.auth === undefined ? {} : { auth: options.auth }),
  };
};
