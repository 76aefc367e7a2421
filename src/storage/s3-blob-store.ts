/**
 * BlobStore on an S3-compatible object store (AWS S3, SeaweedFS, MinIO, R2, ...), so every host of a deployment
 * reads what any host wrote. Objects live at `<prefix><kind>/<hex[0:2]>/<hex>`; they are written once (a HEAD
 * first: an existing object is never uploaded again) and every read is checked against its hash.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { lazyModule } from '../util/lazy-module.js';
import { refHex, sha256Hex, toBytes, verified, type BlobInfo, type BlobStore } from './blob-store.js';

export interface S3Location {
  client: S3Client;
  bucket: string;
  /** Key prefix for this store's objects, e.g. `keel/blobs/` (ends with `/` or is empty). */
  prefix: string;
}

export const awsS3 = lazyModule<typeof import('@aws-sdk/client-s3')>('@aws-sdk/client-s3');

/** An error the S3 service answered with (by shape: the ESM and CommonJS builds have different classes). */
export function isS3Error(err: unknown): err is Error & { $metadata?: { httpStatusCode?: number } } {
  return err instanceof Error && typeof (err as { $metadata?: unknown }).$metadata === 'object';
}

/** One clear line for a failed request: operation, key, the server's error name and HTTP status. */
export function s3Failure(op: string, key: string, err: unknown): Error {
  const status = isS3Error(err) ? err.$metadata?.httpStatusCode : undefined;
  const name = err instanceof Error ? err.name : 'Error';
  return new Error(`S3 ${op} ${key} failed: ${name}${status ? ` (HTTP ${status})` : ''}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

export function isNotFound(err: unknown): boolean {
  if (!isS3Error(err)) return false;
  return err.name === 'NotFound' || err.name === 'NoSuchKey' || err.$metadata?.httpStatusCode === 404;
}

export class S3BlobStore implements BlobStore {
  constructor(private readonly at: S3Location) {}

  async put(data: Buffer | string): Promise<string> {
    const bytes = toBytes(data);
    const ref = `sha256:${sha256Hex(bytes)}`;
    if (await this.has(ref)) return ref;
    const key = this.key(ref);
    await this.at.client
      .send(new (awsS3().PutObjectCommand)({ Bucket: this.at.bucket, Key: key, Body: bytes, ContentLength: bytes.length }))
      .catch((err: unknown) => Promise.reject(s3Failure('PUT', key, err)));
    return ref;
  }

  async get(ref: string): Promise<Buffer | undefined> {
    try {
      const out = await this.at.client.send(new (awsS3().GetObjectCommand)({ Bucket: this.at.bucket, Key: this.key(ref) }));
      return verified(ref, Buffer.from(await out.Body!.transformToByteArray()));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw isS3Error(err) ? s3Failure('GET', this.key(ref), err) : err;
    }
  }

  async has(ref: string): Promise<boolean> {
    try {
      await this.at.client.send(new (awsS3().HeadObjectCommand)({ Bucket: this.at.bucket, Key: this.key(ref) }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw s3Failure('HEAD', this.key(ref), err);
    }
  }

  async *list(): AsyncIterable<BlobInfo> {
    let token: string | undefined;
    do {
      const page = await this.at.client.send(
        new (awsS3().ListObjectsV2Command)({ Bucket: this.at.bucket, Prefix: this.at.prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        const hex = /([0-9a-f]{64})$/.exec(o.Key ?? '')?.[1];
        if (hex && o.Key === this.key(`sha256:${hex}`)) yield { ref: `sha256:${hex}`, bytes: o.Size ?? 0, modified: o.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(ref: string): Promise<void> {
    await this.at.client.send(new (awsS3().DeleteObjectCommand)({ Bucket: this.at.bucket, Key: this.key(ref) }));
  }

  private key(ref: string): string {
    const hex = refHex(ref);
    return `${this.at.prefix}${hex.slice(0, 2)}/${hex}`;
  }
}
