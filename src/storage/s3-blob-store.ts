/**
 * BlobStore on an S3-compatible object store (AWS S3, SeaweedFS, MinIO, R2, ...), so every host of a deployment
 * reads what any host wrote. Objects live at `<prefix><kind>/<hex[0:2]>/<hex>`; they are written once (a HEAD
 * first: an existing object is never uploaded again) and every read is checked against its hash.
 */
import { refHex, sha256Hex, toBytes, verified, type BlobInfo, type BlobStore } from './blob-store.js';
import { S3Objects, type S3Location } from './s3-objects.js';

export class S3BlobStore implements BlobStore {
  private readonly objects: S3Objects;

  constructor(at: S3Location) {
    this.objects = new S3Objects(at);
  }

  async put(data: Buffer | string): Promise<string> {
    const bytes = toBytes(data);
    const ref = `sha256:${sha256Hex(bytes)}`;
    if (!(await this.has(ref))) await this.objects.put(nameOf(ref), bytes);
    return ref;
  }

  async get(ref: string): Promise<Buffer | undefined> {
    const bytes = await this.objects.get(nameOf(ref));
    return bytes && verified(ref, bytes);
  }

  has(ref: string): Promise<boolean> {
    return this.objects.has(nameOf(ref));
  }

  async *list(): AsyncIterable<BlobInfo> {
    for await (const o of this.objects.list()) {
      const hex = /([0-9a-f]{64})$/.exec(o.name)?.[1];
      if (hex && o.name === nameOf(`sha256:${hex}`))
        yield { ref: `sha256:${hex}`, bytes: o.bytes, modified: o.modified };
    }
  }

  delete(ref: string): Promise<void> {
    return this.objects.delete(nameOf(ref));
  }
}

/** Where a ref's object lives below the store's prefix: `<hex[0:2]>/<hex>`. */
function nameOf(ref: string): string {
  const hex = refHex(ref);
  return `${hex.slice(0, 2)}/${hex}`;
}
