/**
 * MemoryStore in an S3-compatible bucket (KEEL_STORE=s3://bucket/prefix: under `<prefix>memory/agent/scope/`), so
 * every host reads what any host learned. Concurrent extraction loses nothing because it never rewrites a shared
 * object: each run writes its own raw memory, rollout summary and session log (keys named by the run), an append
 * log of immutable objects; only consolidation (one workflow per scope) and a run's live edits rewrite MEMORY.md.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { memoryPath, type MemoryKey, type MemoryStore } from './memory-store.js';
import { awsS3, isNotFound, isS3Error, s3Failure, type S3Location } from './s3-blob-store.js';

export class S3MemoryStore implements MemoryStore {
  constructor(private readonly at: S3Location) {}

  private get client(): S3Client {
    return this.at.client;
  }

  private key(key: MemoryKey, rel: string): string {
    return `${this.at.prefix}${memoryPath(key, rel)}`;
  }

  async read(key: MemoryKey, file: string): Promise<string | undefined> {
    const k = this.key(key, file);
    try {
      const out = await this.client.send(new (awsS3().GetObjectCommand)({ Bucket: this.at.bucket, Key: k }));
      return await out.Body!.transformToString('utf8');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw isS3Error(err) ? s3Failure('GET', k, err) : err;
    }
  }

  async write(key: MemoryKey, file: string, content: string): Promise<void> {
    const k = this.key(key, file);
    const body = Buffer.from(content, 'utf8');
    await this.client
      .send(new (awsS3().PutObjectCommand)({ Bucket: this.at.bucket, Key: k, Body: body, ContentLength: body.length }))
      .catch((err: unknown) => Promise.reject(s3Failure('PUT', k, err)));
  }

  async list(key: MemoryKey, dir: string): Promise<string[]> {
    const prefix = `${this.key(key, dir)}/`;
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client
        .send(new (awsS3().ListObjectsV2Command)({ Bucket: this.at.bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }))
        .catch((err: unknown) => Promise.reject(s3Failure('LIST', prefix, err)));
      for (const o of page.Contents ?? []) if (o.Key) names.push(o.Key.slice(prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return names.sort();
  }
}
