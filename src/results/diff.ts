/**
 * The diff between two workspace snapshots: both are extracted into a fresh temporary directory (as `a/` and
 * `b/`) and compared by `git diff --no-index`, which gives a unified diff in git's format (`diff --git a/x b/x`,
 * renames, modes, symlinks, "Binary files differ"), applicable with `git apply` or `patch -p1`. `.git` entries are
 * left out: for a workspace that is (or holds) a git repository the change is its files, as `git diff` shows them
 * (plus new files), not git's object store. git runs with no
 * system, global or repository configuration and no external diff or textconv drivers, so nothing the workspace
 * holds can make it run a command on this host.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { KeelError } from '../errors.js';

/** Writes a side of the diff into `dir` (`skip` leaves out entries by workspace path). */
export type ExtractSide = (dir: string, skip: (relative: string) => boolean) => Promise<unknown>;

/** A repository's own store (`.git` at any depth), not part of the change. */
export const isGitStore = (rel: string): boolean => rel === '.git' || rel.endsWith('/.git');

/** The unified diff from `base` to `target`; empty when they hold the same files. */
export async function diffSides(base: ExtractSide, target: ExtractSide): Promise<string> {
  const work = await mkdtemp(path.join(tmpdir(), 'keel-diff-'));
  try {
    const skip = isGitStore;
    await base(path.join(work, 'a'), skip);
    await target(path.join(work, 'b'), skip);
    return await gitDiff(work);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function gitDiff(work: string): Promise<string> {
  const args = [
    'diff',
    '--no-index',
    '--no-prefix',
    '--no-color',
    '--no-ext-diff',
    '--no-textconv',
    '-M',
    '--',
    'a',
    'b',
  ];
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: work,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CEILING_DIRECTORIES: path.dirname(work),
    LC_ALL: 'C',
  };
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd: work, env, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      // Exit 1 means "they differ"; anything else is a failure.
      const code = (err as { code?: number | string } | null)?.code;
      if (!err || code === 1) return resolve(stdout);
      if (code === 'ENOENT')
        return reject(new KeelError('bad_usage', 'keel diff needs git on this host (not found on PATH)'));
      reject(new KeelError('io_error', `git diff failed: ${stderr.trim() || String(err)}`));
    });
  });
}
