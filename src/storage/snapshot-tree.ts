/**
 * The stored form of an incremental workspace snapshot, git-like: file contents are split into chunks stored as
 * blobs, each directory is a blob listing its entries (name, type, mode, owner, mtime, and chunk refs, a subtree
 * ref or a link target), and the snapshot object names the root tree. Everything is content-addressed, so a
 * snapshot after a one-file change stores that file's chunks, the trees on its path and a new snapshot object.
 */

export const SNAPSHOT_ID = /^tree:(sha256:[0-9a-f]{64})$/;

/** File chunk size: bounds memory per file and lets a large file that changed at its end share its start. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

export type EntryType = 'file' | 'directory' | 'symlink' | 'link' | 'fifo' | 'character-device' | 'block-device';

export interface EntryMeta {
  mode: number;
  uid: number;
  gid: number;
  /** Milliseconds since the epoch (tar keeps seconds). */
  mtime: number;
}

/** One entry of a stored directory. */
export interface TreeEntry extends EntryMeta {
  name: string;
  type: EntryType;
  /** Files: content size and chunk refs. */
  size?: number;
  chunks?: string[];
  /** Directories: the subtree's ref. */
  tree?: string;
  /** Symlinks: the target; hard links: the workspace path of the linked file. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

export interface StoredTree {
  v: 1;
  entries: TreeEntry[];
}

export interface StoredSnapshot {
  v: 1;
  kind: 'keel.snapshot';
  root: EntryMeta;
  tree: string;
  /** Size of the workspace tar this snapshot was made from. */
  tarBytes: number;
}

/** An in-memory directory while a tar is read. */
export interface DirNode {
  meta: EntryMeta;
  children: Map<string, TreeEntry | DirNode>;
}

export const isDir = (n: TreeEntry | DirNode): n is DirNode => 'children' in n;

const DEFAULT_DIR: EntryMeta = { mode: 0o755, uid: 0, gid: 0, mtime: 0 };

export function newDir(meta: EntryMeta = DEFAULT_DIR): DirNode {
  return { meta: { ...meta }, children: new Map() };
}

/**
 * A tar member name as workspace path parts (`./a/b/` -> ['a','b']; `./` -> []). Names that climb out of the
 * workspace or are absolute are refused: the workspace is hostile.
 */
export function pathParts(name: string): string[] {
  if (name.startsWith('/')) throw new Error(`snapshot: absolute path in workspace tar: ${JSON.stringify(name)}`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new Error(`snapshot: '..' in workspace tar path: ${JSON.stringify(name)}`);
  return parts;
}

/** The directory node at `parts`, created (with default metadata) when the tar did not list it before. */
export function dirAt(root: DirNode, parts: string[]): DirNode {
  let dir = root;
  for (const part of parts) {
    let next = dir.children.get(part);
    if (!next || !isDir(next)) {
      next = newDir();
      dir.children.set(part, next);
    }
    dir = next;
  }
  return dir;
}
