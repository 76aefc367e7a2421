/**
 * Named objects under one prefix of an S3-compatible bucket (AWS S3, SeaweedFS, MinIO, R2, ...): the requests the
 * blob store and the memory store both make, each failure one clear line naming the operation and the key.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { lazyModule } from '../util/lazy-module.js';

export interface S3Location {
  client: S3Client;
  bucket: string;
  /** Key prefix for this store's objects, e.g. `keel/blobs/` (ends with `/` or is empty). */
  prefix: string;
}

/** The AWS SDK, loaded by the first S3 store a process makes. */
export const awsS3 = lazyModule<typeof import('@aws-sdk/client-s3')>('@aws-sdk/client-s3');

/** An error the S3 service answered with (by shape: the ESM and CommonJS builds have different classes). */
function isS3Error(err: unknown): err is Error & { $metadata?: { httpStatusCode?: number } } {
  return err instanceof Error && typeof (err as { $metadata?: unknown }).$metadata === 'object';
}

/** One clear line for a failed request: operation, key, the server's error name and HTTP status. */
function s3Failure(op: string, key: string, err: unknown): Error {
  const status = isS3Error(err) ? err.$metadata?.httpStatusCode : undefined;
  const name = err instanceof Error ? err.name : 'Error';
  return new Error(
    `S3 ${op} ${key} failed: ${name}${status ? ` (HTTP ${status})` : ''}: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
}

function isNotFound(err: unknown): boolean {
  if (!isS3Error(err)) return false;
  return err.name === 'NotFound' || err.name === 'NoSuchKey' || err.$metadata?.httpStatusCode === 404;
}

export interface S3Object {
  /** The key below the location's prefix. */
  name: string;
  bytes: number;
  modified: Date;
}

export class S3Objects {
  constructor(private readonly at: S3Location) {}

  async put(name: string, bytes: Buffer): Promise<void> {
    const key = this.key(name);
    await this.at.client
      .send(
        new (awsS3().PutObjectCommand)({ Bucket: this.at.bucket, Key: key, Body: bytes, ContentLength: bytes.length }),
      )
      .catch((err: unknown) => Promise.reject(s3Failure('PUT', key, err)));
  }

  /** The object's bytes, or undefined when there is none. */
  async get(name: string): Promise<Buffer | undefined> {
    const key = this.key(name);
    try {
      const out = await this.at.client.send(new (awsS3().GetObjectCommand)({ Bucket: this.at.bucket, Key: key }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw isS3Error(err) ? s3Failure('GET', key, err) : err;
    }
  }

  async has(name: string): Promise<boolean> {
    const key = this.key(name);
    try {
      await this.at.client.send(new (awsS3().HeadObjectCommand)({ Bucket: this.at.bucket, Key: key }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw s3Failure('HEAD', key, err);
    }
  }

  /** Objects whose name starts with `under`; with `flat`, only those directly in it (not in its sub-folders). */
  async *list(under = '', options: { flat?: boolean } = {}): AsyncIterable<S3Object> {
    const prefix = this.key(under);
    let token: string | undefined;
    do {
      const page = await this.at.client
        .send(
          new (awsS3().ListObjectsV2Command)({
            Bucket: this.at.bucket,
            Prefix: prefix,
            ContinuationToken: token,
            ...(options.flat ? { Delimiter: '/' } : {}),
          }),
        )
        .catch((err: unknown) => Promise.reject(s3Failure('LIST', prefix, err)));
      for (const o of page.Contents ?? []) {
        if (o.Key)
          yield {
            name: o.Key.slice(this.at.prefix.length),
            bytes: o.Size ?? 0,
            modified: o.LastModified ?? new Date(0),
          };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(name: string): Promise<void> {
    await this.at.client.send(new (awsS3().DeleteObjectCommand)({ Bucket: this.at.bucket, Key: this.key(name) }));
  }

  private key(name: string): string {
    return `${this.at.prefix}${name}`;
  }
}
