/**
 * Writes a stored workspace snapshot (or one directory or file of it) into a local directory, from its tree
 * objects. The snapshot is untrusted: every name is checked to be one plain path component, the target directory
 * must be new or empty, and entries are created only with mkdir, exclusive file creation and symlink(), so nothing
 * is written through a symlink and nothing lands outside the directory. Symlinks are written as links, never
 * followed; FIFOs and devices are skipped (snapshots do not hold them).
 */
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { KeelError } from '../errors.js';
import type { TreeSnapshotStore } from '../storage/tree-snapshot-store.js';
import type { TreeEntry } from '../storage/snapshot-tree.js';
import type { SnapshotFiles } from './snapshot-files.js';

export interface ExtractOptions {
  /** Only this workspace path (a directory's contents, or one file); default the whole workspace. */
  path?: string;
  /** Entries left out, by workspace-relative path (the diff leaves out `.git`). */
  skip?: (relative: string) => boolean;
  /** Refuse once the files' bytes would pass this. */
  maxBytes?: number;
}

/** An empty or new directory, or one clear error (nothing is overwritten or merged into). */
export async function emptyDir(dir: string): Promise<void> {
  const existing = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw new KeelError('bad_usage', `cannot write to ${dir}: ${err.message}`);
  });
  if (existing.length) throw new KeelError('bad_usage', `${dir} is not empty; extract into a new or empty directory`);
  await mkdir(dir, { recursive: true });
}

function plainName(name: string): string {
  if (!name || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new KeelError(
      'path_escape',
      `snapshot entry name ${JSON.stringify(name)} is not a plain file name; nothing more was written`,
    );
  }
  return name;
}

/** Extracts into `dir` (new or empty); returns the number of entries written. */
export async function extractSnapshot(
  store: TreeSnapshotStore,
  files: SnapshotFiles,
  dir: string,
  options: ExtractOptions = {},
): Promise<number> {
  const { entry, parts } = await files.resolve(options.path ?? '');
  await emptyDir(dir);
  let bytes = 0;
  let count = 0;
  const links: { at: string; target: string }[] = [];
  const writeEntry = async (e: TreeEntry, rel: string, at: string): Promise<void> => {
    if (options.skip?.(rel)) return;
    count++;
    if (e.type === 'directory') {
      await mkdir(at);
      await walk(e.tree!, `${rel}/`, at);
    } else if (e.type === 'file') {
      bytes += e.size ?? 0;
      if (options.maxBytes !== undefined && bytes > options.maxBytes) throw tooLarge(options.maxBytes);
      await writeFile(at, await store.content(e), { flag: 'wx', mode: e.mode & 0o777 });
    } else if (e.type === 'symlink') {
      await symlink(e.linkname ?? '', at);
    } else if (e.type === 'link') {
      links.push({ at, target: e.linkname ?? '' });
    } else {
      count--;
    }
  };
  const walk = async (treeRef: string, prefix: string, into: string): Promise<void> => {
    for (const e of (await store.tree(treeRef)).entries)
      await writeEntry(e, `${prefix}${e.name}`, path.join(into, plainName(e.name)));
  };
  if (!entry || entry.type === 'directory') {
    await walk(
      entry?.tree ?? (await store.describe(files.snapshotId)).tree,
      parts.length ? `${parts.join('/')}/` : '',
      dir,
    );
  } else {
    await writeEntry(entry, parts.join('/'), path.join(dir, plainName(parts.at(-1)!)));
  }
  // A hard link is a copy of the file it names, read from the snapshot (it may lie outside the extracted part).
  for (const link of links) {
    const content = await files.read(link.target);
    bytes += content.length;
    if (options.maxBytes !== undefined && bytes > options.maxBytes) throw tooLarge(options.maxBytes);
    await writeFile(link.at, content, { flag: 'wx' });
  }
  return count;
}

export function tooLarge(maxBytes: number): KeelError {
  return new KeelError(
    'too_large',
    `the workspace is larger than the cap of ${maxBytes} bytes; raise it with KEEL_WORKSPACE_TAR_MAX_BYTES or { maxTarBytes }`,
  );
}
