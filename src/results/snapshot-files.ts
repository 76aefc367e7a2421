/**
 * Files of one stored workspace snapshot, read from its tree objects (no container, no whole-tar read): list a
 * directory's subtree, read one file. Paths are workspace-relative and untrusted: absolute paths and `..` are
 * refused, and symlinks are followed only while they stay inside the workspace (`/workspace/...` targets count as
 * inside), the way the sandbox's own file tools resolve them.
 */
import { KeelError } from '../errors.js';
import type { TreeSnapshotStore } from '../storage/tree-snapshot-store.js';
import type { EntryType, TreeEntry } from '../storage/snapshot-tree.js';

/** One entry of a workspace listing. */
export interface WorkspaceEntry {
  /** Workspace-relative path (`src/app.py`). */
  path: string;
  type: EntryType;
  mode: number;
  /** Files: bytes. */
  size?: number;
  /** Symlinks: the target; hard links: the workspace path of the linked file. */
  linkname?: string;
}

/** Symlinks followed while resolving one path before it is taken for a loop. */
const MAX_LINK_HOPS = 40;
const WORKSPACE = '/workspace';

/** A requested path as parts; absolute paths and `..` are refused before anything is read. */
export function requestParts(path: string): string[] {
  if (path.startsWith('/'))
    throw escape(path, 'absolute paths are not workspace paths; give it relative to /workspace');
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw escape(path, "'..' is not allowed");
  return parts;
}

function escape(path: string, why: string): KeelError {
  return new KeelError('path_escape', `${JSON.stringify(path)} is outside the workspace: ${why}`);
}

/** Where a symlink in directory `dir` points, as workspace parts; throws when it leaves the workspace. */
function linkTarget(requested: string, dir: string[], target: string): string[] {
  let base = dir;
  let rest = target;
  if (target.startsWith('/')) {
    if (target !== WORKSPACE && !target.startsWith(`${WORKSPACE}/`))
      throw escape(requested, `a symlink points to ${target}`);
    base = [];
    rest = target.slice(WORKSPACE.length);
  }
  const out = [...base];
  for (const part of rest.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..') out.push(part);
    else if (out.pop() === undefined) throw escape(requested, `a symlink points to ${target}`);
  }
  return out;
}

export class SnapshotFiles {
  constructor(
    private readonly store: TreeSnapshotStore,
    readonly snapshotId: string,
  ) {}

  private async rootTree(): Promise<string> {
    return (await this.store.describe(this.snapshotId)).tree;
  }

  /**
   * The entry at `path` (symlinks on the way, and at the end when `follow`, resolved inside the workspace), with
   * its real workspace path; undefined for the root itself.
   */
  async resolve(path: string, follow = true): Promise<{ entry?: TreeEntry; parts: string[] }> {
    let pending = requestParts(path);
    let parts: string[] = [];
    let tree = await this.rootTree();
    let entry: TreeEntry | undefined;
    for (let hops = 0; pending.length;) {
      const [name, ...rest] = pending;
      if (entry && entry.type !== 'directory')
        throw new KeelError('not_found', `${parts.join('/')} is not a directory (in ${JSON.stringify(path)})`);
      const found = (await this.store.tree(tree)).entries.find((e) => e.name === name);
      if (!found)
        throw new KeelError('not_found', `${[...parts, name].join('/')} does not exist in the workspace snapshot`);
      if (found.type === 'symlink' && (rest.length || follow)) {
        if (++hops > MAX_LINK_HOPS)
          throw new KeelError('path_escape', `${JSON.stringify(path)}: too many symlinks (a loop?)`);
        pending = [...linkTarget(path, parts, found.linkname ?? ''), ...rest];
        ({ parts, tree, entry } = { parts: [], tree: await this.rootTree(), entry: undefined });
        continue;
      }
      entry = found;
      parts = [...parts, name];
      if (found.type === 'directory') tree = found.tree!;
      pending = rest;
    }
    return { entry, parts };
  }

  /** Every entry under `dir` (default: the whole workspace), depth first, paths workspace-relative. */
  async list(dir = ''): Promise<WorkspaceEntry[]> {
    const { entry, parts } = await this.resolve(dir);
    if (entry && entry.type !== 'directory') return [toEntry(parts.join('/'), entry)];
    const out: WorkspaceEntry[] = [];
    const walk = async (treeRef: string, prefix: string): Promise<void> => {
      for (const e of (await this.store.tree(treeRef)).entries) {
        out.push(toEntry(`${prefix}${e.name}`, e));
        if (e.type === 'directory') await walk(e.tree!, `${prefix}${e.name}/`);
      }
    };
    await walk(entry?.tree ?? (await this.rootTree()), parts.length ? `${parts.join('/')}/` : '');
    return out;
  }

  /** A file's bytes; a hard link reads the file it links to. */
  async read(path: string): Promise<Buffer> {
    let { entry } = await this.resolve(path);
    if (entry?.type === 'link') entry = (await this.resolve(entry.linkname ?? '')).entry;
    if (!entry || entry.type === 'directory')
      throw new KeelError('not_found', `${JSON.stringify(path)} is a directory, not a file`);
    if (entry.type !== 'file')
      throw new KeelError('not_found', `${JSON.stringify(path)} is a ${entry.type}, not a file`);
    return this.store.content(entry);
  }
}

function toEntry(path: string, e: TreeEntry): WorkspaceEntry {
  return {
    path,
    type: e.type,
    mode: e.mode,
    ...(e.size !== undefined ? { size: e.size } : {}),
    ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
  };
}
