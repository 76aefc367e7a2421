/**
 * A BlobStore that remembers what it read and wrote (bounded by bytes), so a run's images, offloaded outputs and
 * conversation chunks are fetched from a remote store once per worker instead of every turn. Blobs are
 * content-addressed, so a cached copy is never stale.
 */
import type { BlobInfo, BlobStore } from './blob-store.js';
import { WeightedLru } from './lru.js';

export class CachedBlobStore implements BlobStore {
  private readonly cache: WeightedLru<Buffer>;

  constructor(
    readonly inner: BlobStore,
    maxBytes = 64 * 1024 * 1024,
  ) {
    this.cache = new WeightedLru(maxBytes, (b) => b.length);
  }

  async put(data: Buffer | string): Promise<string> {
    const ref = await this.inner.put(data);
    this.cache.set(ref, typeof data === 'string' ? Buffer.from(data) : data);
    return ref;
  }

  async get(ref: string): Promise<Buffer | undefined> {
    const hit = this.cache.get(ref);
    if (hit) return hit;
    const bytes = await this.inner.get(ref);
    if (bytes) this.cache.set(ref, bytes);
    return bytes;
  }

  async has(ref: string): Promise<boolean> {
    return this.cache.get(ref) !== undefined || this.inner.has(ref);
  }

  list(): AsyncIterable<BlobInfo> {
    return this.inner.list();
  }

  async delete(ref: string): Promise<void> {
    await this.inner.delete(ref);
  }
}
