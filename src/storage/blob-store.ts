/**
 * Content-addressed blob store for payloads kept out of workflow history (conversations, images, large tool
 * outputs, snapshot files). History holds the hash; anything holding the hash can fetch the bytes. Objects are
 * written once (a ref names its bytes forever) and every read checks the bytes against the ref's hash.
 * A local directory by default; S3BlobStore (s3-blob-store.ts) shares one store between hosts.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';

export interface BlobInfo {
  ref: string;
  bytes: number;
  /** When the object was written (gc keeps young objects: a run may be about to reference them). */
  modified: Date;
}

export interface BlobStore {
  /** Stores bytes and returns their ref, `sha256:<hex>`. Idempotent: existing objects are not written again. */
  put(data: Buffer | string): Promise<string>;
  /** The bytes of a ref (hash-checked), or undefined when this store does not have them. */
  get(ref: string): Promise<Buffer | undefined>;
  has(ref: string): Promise<boolean>;
  /** Every object, for `keel gc`. */
  list(): AsyncIterable<BlobInfo>;
  delete(ref: string): Promise<void>;
}

const REF = /^sha256:([0-9a-f]{64})$/;

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The hex digest a ref names; throws on anything else (refs come from history and must not become paths). */
export function refHex(ref: string): string {
  const m = REF.exec(ref);
  if (!m) throw new TypeError(`not a blob ref: ${ref}`);
  return m[1];
}

/** Returns the bytes when they hash to `ref`; throws otherwise (a corrupted or tampered object is never used). */
export function verified(ref: string, bytes: Buffer): Buffer {
  if (`sha256:${sha256Hex(bytes)}` !== ref)
    throw new Error(`blob ${ref} failed its hash check (corrupted or tampered object)`);
  return bytes;
}

export function toBytes(data: Buffer | string): Buffer {
  return typeof data === 'string' ? Buffer.from(data) : data;
}

export class LocalBlobStore implements BlobStore {
  constructor(private readonly dir: string) {}

  async put(data: Buffer | string): Promise<string> {
    const bytes = toBytes(data);
    const hex = sha256Hex(bytes);
    const file = this.file(hex);
    if (await this.has(`sha256:${hex}`)) return `sha256:${hex}`;
    await mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, bytes);
    return `sha256:${hex}`;
  }

  async get(ref: string): Promise<Buffer | undefined> {
    try {
      return verified(ref, await readFile(this.file(refHex(ref))));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async has(ref: string): Promise<boolean> {
    return stat(this.file(refHex(ref))).then(
      () => true,
      () => false,
    );
  }

  async *list(): AsyncIterable<BlobInfo> {
    const shards = await readdir(this.dir).catch(() => [] as string[]);
    for (const shard of shards.filter((s) => /^[0-9a-f]{2}$/.test(s))) {
      for (const name of await readdir(path.join(this.dir, shard))) {
        if (!/^[0-9a-f]{64}$/.test(name)) continue;
        const s = await stat(path.join(this.dir, shard, name)).catch(() => undefined);
        if (s) yield { ref: `sha256:${name}`, bytes: s.size, modified: s.mtime };
      }
    }
  }

  async delete(ref: string): Promise<void> {
    await rm(this.file(refHex(ref)), { force: true });
  }

  private file(hex: string): string {
    return path.join(this.dir, hex.slice(0, 2), hex);
  }
}
