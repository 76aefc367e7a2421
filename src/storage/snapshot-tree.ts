/**
 * The stored form of an incremental workspace snapshot, git-like: file contents are split into chunks stored as
 * blobs, each directory is a blob listing its entries (name, type, mode, owner, mtime, and chunk refs, a subtree
 * ref or a link target), and the snapshot object names the root tree. Everything is content-addressed, so a
 * snapshot after a one-file change stores that file's chunks, the trees on its path and a new snapshot object.
 */

export const SNAPSHOT_ID = /^tree:(sha256:[0-9a-f]{64})$/;

/** File chunk size: bounds memory per file and lets a large file that changed at its end share its start. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

/** Files this small live in their directory's tree: a chunk ref costs ~75 bytes of JSON and one store round trip. */
export const INLINE_BYTES = 256;

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
  /** The name as text; a name that is not UTF-8 shows escaped here and is exact in `rawName`. */
  name: string;
  /** Base64 of the name's bytes, only when they are not UTF-8 (JSON carries text only). */
  rawName?: string;
  type: EntryType;
  /** Files: content size and chunk refs. */
  size?: number;
  chunks?: string[];
  /** Files of at most INLINE_BYTES: the content itself, base64 (no object per tiny file). */
  data?: string;
  /** Directories: the subtree's ref. */
  tree?: string;
  /** Symlinks: the target; hard links: the workspace path of the linked file. */
  linkname?: string;
  /** Base64 of a symlink target that is not UTF-8. */
  rawLinkname?: string;
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

/**
 * An in-memory directory while a tar is read. Children are keyed by name, or by `RAW` + base64 for names that are
 * not UTF-8. `ref`/`count` remember the stored tree while nothing below changed (incremental exports keep the tree).
 */
export interface DirNode {
  meta: EntryMeta;
  children: Map<string, TreeEntry | DirNode>;
  ref?: string;
  count?: number;
}

/** Prefix of a child key whose name is not UTF-8 (no file name contains NUL). */
export const RAW = '\0';

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

/** A tar member's path as child keys: from its exact bytes (`KEEL.path.b64`, non-UTF-8 names) or its name. */
export function pathKeys(name: string, rawB64?: string): string[] {
  if (rawB64 === undefined) return pathParts(name);
  const bytes = Buffer.from(rawB64, 'base64');
  const parts: Buffer[] = [];
  for (let at = 0; at <= bytes.length;) {
    const end = bytes.indexOf(0x2f, at);
    parts.push(bytes.subarray(at, end < 0 ? bytes.length : end));
    at = end < 0 ? bytes.length + 1 : end + 1;
  }
  const keys = parts.filter((p) => p.length > 0 && !(p.length === 1 && p[0] === 0x2e)).map(keyOf);
  if (name.startsWith('/') || bytes[0] === 0x2f)
    throw new Error(`snapshot: absolute path in workspace tar: ${JSON.stringify(name)}`);
  if (keys.includes('..')) throw new Error(`snapshot: '..' in workspace tar path: ${JSON.stringify(name)}`);
  return keys;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function keyOf(bytes: Buffer): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    return RAW + bytes.toString('base64');
  }
}

/** The stored name fields of a child key. */
export function nameOf(key: string): { name: string; rawName?: string } {
  if (!key.startsWith(RAW)) return { name: key };
  const rawName = key.slice(RAW.length);
  return { name: Buffer.from(rawName, 'base64').toString('utf8'), rawName };
}

/**
 * The directory node at `parts`, created (with default metadata) when the tar did not list it before. Every
 * directory on the way forgets its stored ref: something below it is about to change.
 */
export function dirAt(root: DirNode, parts: string[]): DirNode {
  let dir = root;
  dir.ref = undefined;
  for (const part of parts) {
    let next = dir.children.get(part);
    if (!next || !isDir(next)) {
      next = newDir();
      dir.children.set(part, next);
    }
    dir = next;
    dir.ref = undefined;
  }
  return dir;
}

/** Removes the entry at `parts` (an incremental export's deletion); nothing when it is not there. */
export function removeAt(root: DirNode, parts: string[]): void {
  const name = parts.at(-1);
  let dir: DirNode = root;
  for (const part of parts.slice(0, -1)) {
    const next = dir.children.get(part);
    if (!next || !isDir(next)) return;
    dir = next;
  }
  if (name === undefined || !dir.children.has(name)) return;
  dirAt(root, parts.slice(0, -1)).children.delete(name);
}
