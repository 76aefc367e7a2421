/**
 * Incremental workspace snapshots over a BlobStore (local directory or S3): the workspace tar the sandbox streams
 * out is taken apart into content-addressed chunks and directory trees (snapshot-tree.ts), and put back together
 * as a tar on restore. Only objects the store does not already hold are written, so a turn that changed one file
 * stores about that file. Restore rebuilds the exact tree: modes, owners, mtimes, symlinks, hard links, empty dirs,
 * names that are not UTF-8. A sandbox agent's incremental export (only changed entries and deletions, against the
 * index of its last export) is applied to the tree this worker kept from that export (snapshot-bases.ts).
 */
import { once } from 'node:events';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar, { type Header, type Pack } from 'tar-stream';
import { SandboxError } from '../errors.js';
import type { SnapshotInfo, SnapshotPutOptions, SnapshotStore } from '../sandbox/types.js';
import { sha256Hex, type BlobStore } from './blob-store.js';
import { SnapshotBases, type SnapshotBase } from './snapshot-bases.js';
import {
  CHUNK_BYTES,
  INLINE_BYTES,
  SNAPSHOT_ID,
  dirAt,
  isDir,
  nameOf,
  newDir,
  pathKeys,
  pathParts,
  removeAt,
  type DirNode,
  type EntryMeta,
  type EntryType,
  type StoredSnapshot,
  type StoredTree,
  type TreeEntry,
} from './snapshot-tree.js';

type HeaderArg = Parameters<Pack['entry']>[0];
type TarEntry = Readable & { header: Header };

/** PAX records of the sandbox agent's export (agent/snapshot.go). */
const PAX = {
  index: 'KEEL.index',
  base: 'KEEL.base',
  deleted: 'KEEL.deleted',
  rawPath: 'KEEL.path.b64',
  rawLink: 'KEEL.link.b64',
};

/** One put: the tree being built (a fresh one, or the kept base an incremental export applies to). */
interface Build {
  root: DirNode;
  base?: SnapshotBase;
  index?: string;
}

/** How long "this object exists" is believed without asking the store again (well under gc's minimum age). */
const KNOWN_TTL_MS = 10 * 60_000;
const KNOWN_MAX = 200_000;

function metaOf(h: Partial<Header>): EntryMeta {
  return { mode: h.mode ?? 0o644, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: h.mtime?.getTime() ?? 0 };
}

export class TreeSnapshotStore implements SnapshotStore {
  private readonly known = new Map<string, number>();
  private readonly bases = new SnapshotBases();

  /** `legacy` serves ids of whole-tar snapshots written before snapshots were incremental. */
  constructor(
    readonly objects: BlobStore,
    private readonly legacy?: SnapshotStore,
  ) {}

  /** The index token a sandbox's next export may be incremental against (`options.key` of its last put). */
  baseToken(key: string): string | undefined {
    return this.bases.token(key);
  }

  async put(input: Readable, options: SnapshotPutOptions = {}): Promise<SnapshotInfo> {
    const session = { stored: 0, tarBytes: 0 };
    const build: Build = { root: newDir(), base: options.key ? this.bases.take(options.key) : undefined };
    const extract = tar.extract();
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        session.tarBytes += chunk.length;
        done(null, chunk);
      },
    });
    const piping = pipeline(input, meter, extract);
    piping.catch(() => {}); // surfaced by the iteration below or by the await after it
    for await (const entry of extract) await this.addEntry(build, entry as unknown as TarEntry, session);
    await piping;
    const tree = await this.storeDir(build.root, session);
    const snapshot: StoredSnapshot = {
      v: 1,
      kind: 'keel.snapshot',
      root: build.root.meta,
      tree,
      tarBytes: session.tarBytes,
    };
    const ref = await this.store(Buffer.from(JSON.stringify(snapshot)), session);
    if (options.key && build.index) this.bases.keep(options.key, { token: build.index, root: build.root });
    return {
      id: `tree:${ref}`,
      sha256: ref.slice('sha256:'.length),
      bytes: session.tarBytes,
      storedBytes: session.stored,
    };
  }

  async get(id: string): Promise<Readable> {
    if (!SNAPSHOT_ID.test(id)) {
      if (this.legacy) return this.legacy.get(id);
      throw new SandboxError('not_found', `not a snapshot id: ${JSON.stringify(id)}`);
    }
    const snapshot = await this.snapshotObject(id);
    const pack = tar.pack();
    const out = new PassThrough();
    const fail = (err: unknown) => {
      out.destroy(err as Error);
      pack.destroy();
    };
    void (async () => {
      for await (const bytes of pack as AsyncIterable<Buffer>) if (!out.write(bytes)) await once(out, 'drain');
      out.end();
    })().catch(fail);
    this.writeTar(pack, snapshot).then(() => pack.finalize(), fail);
    return out;
  }

  async has(id: string): Promise<boolean> {
    const m = SNAPSHOT_ID.exec(id);
    if (!m) return this.legacy?.has(id) ?? false;
    return this.objects.has(m[1]);
  }

  /** Every object a snapshot consists of (its own object, trees and chunks), for `keel gc`. */
  async references(id: string, into: Set<string> = new Set()): Promise<Set<string>> {
    const m = SNAPSHOT_ID.exec(id);
    if (!m) return into;
    into.add(m[1]);
    const walk = async (treeRef: string): Promise<void> => {
      if (into.has(treeRef)) return;
      into.add(treeRef);
      for (const e of (await this.json<StoredTree>(treeRef)).entries) {
        for (const c of e.chunks ?? []) into.add(c);
        if (e.tree) await walk(e.tree);
      }
    };
    await walk((await this.snapshotObject(id)).tree);
    return into;
  }

  /** The snapshot object of a tree snapshot id (root metadata, root tree ref, tar size), for readers of its files. */
  describe(id: string): Promise<StoredSnapshot> {
    if (!SNAPSHOT_ID.test(id)) throw new SandboxError('not_found', `not a tree snapshot id: ${JSON.stringify(id)}`);
    return this.snapshotObject(id);
  }

  /** One directory's entries, by its tree ref. */
  tree(ref: string): Promise<StoredTree> {
    return this.json<StoredTree>(ref);
  }

  /** A file entry's content, whole. */
  async content(entry: TreeEntry): Promise<Buffer> {
    if (entry.data !== undefined) return Buffer.from(entry.data, 'base64');
    return Buffer.concat(await Promise.all((entry.chunks ?? []).map((ref) => this.chunk(ref))));
  }

  private async addEntry(build: Build, entry: TarEntry, session: { stored: number }): Promise<void> {
    const h = entry.header;
    const pax = (h.pax ?? {}) as Record<string, string | undefined>;
    const parts = pathKeys(h.name, pax[PAX.rawPath]);
    const type = (h.type === 'contiguous-file' ? 'file' : h.type) as EntryType;
    if (parts.length === 0) {
      if (type === 'directory') this.startTree(build, pax, metaOf(h));
      entry.resume();
      return;
    }
    if (pax[PAX.deleted]) {
      removeAt(build.root, parts);
      entry.resume();
      return;
    }
    const name = parts.pop()!;
    const parent = dirAt(build.root, parts);
    if (type === 'directory') {
      const existing = parent.children.get(name);
      if (existing && isDir(existing)) existing.meta = metaOf(h);
      else parent.children.set(name, newDir(metaOf(h)));
      entry.resume();
      return;
    }
    const node: TreeEntry = { ...nameOf(name), type, ...metaOf(h) };
    if (type === 'file' && h.size !== undefined && h.size <= INLINE_BYTES)
      Object.assign(node, await inlineContent(entry));
    else if (type === 'file') Object.assign(node, await this.storeContent(entry, session));
    else entry.resume();
    if (type === 'symlink') node.linkname = h.linkname ?? '';
    if (type === 'symlink' && pax[PAX.rawLink]) node.rawLinkname = pax[PAX.rawLink];
    if (type === 'link') node.linkname = pathParts(h.linkname ?? '').join('/');
    if (h.devmajor || h.devminor) Object.assign(node, { devmajor: h.devmajor, devminor: h.devminor });
    parent.children.set(name, node);
  }

  /** The root entry comes first: it says whether the export holds only changes since the kept base. */
  private startTree(build: Build, pax: Record<string, string | undefined>, meta: EntryMeta): void {
    const base = pax[PAX.base];
    if (base !== undefined) {
      if (build.base?.token !== base) {
        throw new SandboxError(
          'io_error',
          'snapshot: the sandbox sent changes since an export this worker does not hold',
        );
      }
      build.root = build.base.root;
    }
    build.index = pax[PAX.index];
    build.root.meta = meta;
    build.root.ref = undefined;
  }

  /** A file's content as chunk blobs of CHUNK_BYTES. */
  private async storeContent(
    stream: Readable,
    session: { stored: number },
  ): Promise<{ size: number; chunks: string[] }> {
    const chunks: string[] = [];
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let size = 0;
    const flush = async () => {
      chunks.push(await this.store(Buffer.concat(pending), session));
      pending = [];
      pendingBytes = 0;
    };
    for await (const piece of stream as AsyncIterable<Buffer>) {
      size += piece.length;
      let rest = piece;
      while (pendingBytes + rest.length >= CHUNK_BYTES) {
        const take = CHUNK_BYTES - pendingBytes;
        pending.push(rest.subarray(0, take));
        pendingBytes += take;
        rest = rest.subarray(take);
        await flush();
      }
      if (rest.length) {
        pending.push(rest);
        pendingBytes += rest.length;
      }
    }
    if (pendingBytes) await flush();
    return { size, chunks };
  }

  /** Stores a directory's subtrees, then the directory itself; returns its ref. Unchanged directories keep theirs. */
  private async storeDir(dir: DirNode, session: { stored: number }): Promise<string> {
    if (dir.ref) return dir.ref;
    const entries: TreeEntry[] = [];
    let count = 0;
    for (const [key, child] of [...dir.children].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (!isDir(child)) entries.push(child);
      else
        entries.push({ ...nameOf(key), type: 'directory', ...child.meta, tree: await this.storeDir(child, session) });
      count += 1 + (isDir(child) ? child.count! : 0);
    }
    const tree: StoredTree = { v: 1, entries };
    dir.ref = await this.store(Buffer.from(JSON.stringify(tree)), session);
    dir.count = count;
    return dir.ref;
  }

  /** Writes an object unless the store already has it; counts what was written. */
  private async store(bytes: Buffer, session: { stored: number }): Promise<string> {
    const ref = `sha256:${sha256Hex(bytes)}`;
    const seen = this.known.get(ref);
    if (seen !== undefined && Date.now() - seen < KNOWN_TTL_MS) return ref;
    if (!(await this.objects.has(ref))) {
      await this.objects.put(bytes);
      session.stored += bytes.length;
    }
    if (this.known.size >= KNOWN_MAX) this.known.clear();
    this.known.set(ref, Date.now());
    return ref;
  }

  private async json<T>(ref: string): Promise<T> {
    const bytes = await this.objects.get(ref);
    if (!bytes) throw new SandboxError('not_found', `snapshot object ${ref} is missing from the store`);
    return JSON.parse(bytes.toString('utf8')) as T;
  }

  private async snapshotObject(id: string): Promise<StoredSnapshot> {
    const ref = SNAPSHOT_ID.exec(id)![1];
    if (!(await this.objects.has(ref))) throw new SandboxError('not_found', `snapshot ${id} not found`);
    const snapshot = await this.json<StoredSnapshot>(ref);
    if (snapshot.kind !== 'keel.snapshot') throw new SandboxError('not_found', `${id} is not a snapshot`);
    return snapshot;
  }

  /** Directories before their contents; hard links last, after the files they name. */
  private async writeTar(pack: Pack, snapshot: StoredSnapshot): Promise<void> {
    await addToPack(pack, header('./', 'directory', snapshot.root));
    const links: HeaderArg[] = [];
    /** `raw`: the exact bytes of the path so far, once a name on it is not UTF-8. */
    const walk = async (treeRef: string, prefix: string, rawPrefix?: Buffer): Promise<void> => {
      for (const e of (await this.json<StoredTree>(treeRef)).entries) {
        const name = `${prefix}${e.name}`;
        const raw =
          e.rawName || rawPrefix
            ? Buffer.concat([
                rawPrefix ?? Buffer.from(prefix),
                e.rawName ? Buffer.from(e.rawName, 'base64') : Buffer.from(e.name),
              ])
            : undefined;
        const h = (n: string, type: EntryType, size?: number) => withRaw(header(n, type, e, size), raw, e.rawLinkname);
        if (e.type === 'directory') {
          await addToPack(pack, h(`${name}/`, 'directory'));
          await walk(e.tree!, `${name}/`, raw && Buffer.concat([raw, Buffer.from('/')]));
        } else if (e.type === 'link') {
          links.push({ ...h(name, 'link'), linkname: e.linkname });
        } else if (e.type === 'file' && e.data !== undefined) {
          await addToPack(pack, h(name, 'file', e.size), Buffer.from(e.data, 'base64'));
        } else if (e.type === 'file') {
          await addFile(pack, h(name, 'file', e.size), e.chunks ?? [], (ref) => this.chunk(ref));
        } else {
          await addToPack(pack, {
            ...h(name, e.type),
            linkname: e.linkname,
            devmajor: e.devmajor,
            devminor: e.devminor,
          });
        }
      }
    };
    await walk(snapshot.tree, '');
    for (const link of links) await addToPack(pack, link);
  }

  private async chunk(ref: string): Promise<Buffer> {
    const bytes = await this.objects.get(ref);
    if (!bytes) throw new SandboxError('not_found', `snapshot chunk ${ref} is missing from the store`);
    return bytes;
  }
}

function header(name: string, type: EntryType, meta: EntryMeta, size = 0): HeaderArg {
  return { name, type, size, mode: meta.mode, uid: meta.uid, gid: meta.gid, mtime: new Date(meta.mtime) };
}

/** Exact bytes of a name or symlink target that is not UTF-8, for the sandbox agent's extraction (agent/tar.go). */
function withRaw(h: HeaderArg, rawPath?: Buffer, rawLink?: string): HeaderArg {
  if (!rawPath && !rawLink) return h;
  const pax: Record<string, string> = {};
  if (rawPath) pax[PAX.rawPath] = rawPath.toString('base64');
  if (rawLink) pax[PAX.rawLink] = rawLink;
  return { ...h, pax };
}

function addToPack(pack: Pack, h: HeaderArg, content?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null) => (err ? reject(err) : resolve());
    if (content) pack.entry(h, content, done);
    else pack.entry(h, done);
  });
}

async function inlineContent(stream: Readable): Promise<{ size: number; data: string }> {
  const pieces: Buffer[] = [];
  for await (const piece of stream as AsyncIterable<Buffer>) pieces.push(piece);
  const bytes = Buffer.concat(pieces);
  return { size: bytes.length, data: bytes.toString('base64') };
}

/** Streams a file's chunks into the pack, one chunk in memory at a time. */
async function addFile(
  pack: Pack,
  h: HeaderArg,
  chunks: string[],
  read: (ref: string) => Promise<Buffer>,
): Promise<void> {
  let settle!: (err?: Error | null) => void;
  const finished = new Promise<void>((resolve, reject) => (settle = (err) => (err ? reject(err) : resolve())));
  finished.catch(() => {}); // awaited below unless a chunk read fails first
  const sink = pack.entry(h, settle);
  for (const ref of chunks) {
    if (!sink.write(await read(ref))) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
  }
  sink.end(undefined as never);
  await finished;
}
