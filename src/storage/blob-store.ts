/**
 * Content-addressed blob store for payloads kept out of workflow history (conversations, images, large tool
 * outputs). History holds the hash; anything holding the hash can fetch the bytes. Local directory by default;
 * an object store fits the same interface.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

export interface BlobStore {
  /** Stores bytes and returns their ref, `sha256:<hex>`. Idempotent. */
  put(data: Buffer | string): Promise<string>;
  /** The bytes of a ref, or undefined when this store does not have them. */
  get(ref: string): Promise<Buffer | undefined>;
}

const REF = /^sha256:([0-9a-f]{64})$/;

export class LocalBlobStore implements BlobStore {
  constructor(private readonly dir: string) {}

  async put(data: Buffer | string): Promise<string> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const hex = createHash('sha256').update(bytes).digest('hex');
    const file = this.file(hex);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, file);
    return `sha256:${hex}`;
  }

  async get(ref: string): Promise<Buffer | undefined> {
    const m = REF.exec(ref);
    if (!m) throw new TypeError(`not a blob ref: ${ref}`);
    try {
      return await readFile(this.file(m[1]));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  private file(hex: string): string {
    return path.join(this.dir, hex.slice(0, 2), hex);
  }
}
