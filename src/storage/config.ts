/**
 * Which stores a worker uses, from the environment. `KEEL_STORE` unset (or `file:`) keeps everything under
 * KEEL_HOME (the embedded default); `KEEL_STORE=s3://bucket/prefix` puts blobs, snapshots and memory in an
 * S3-compatible bucket that every host shares. The endpoint comes from `KEEL_S3_ENDPOINT`, `AWS_ENDPOINT_URL_S3`
 * or `AWS_ENDPOINT_URL` (unset = AWS itself); region and credentials from the usual AWS variables and files.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import * as path from 'node:path';
import { KeelError } from '../errors.js';
import { LocalSnapshotStore } from '../sandbox/snapshots.js';
import { keelPaths } from '../util/paths.js';
import { LocalBlobStore, type BlobStore } from './blob-store.js';
import { S3BlobStore } from './s3-blob-store.js';
import { awsS3 } from './s3-objects.js';
import { LocalMemoryStore, type MemoryStore } from './memory-store.js';
import { S3MemoryStore } from './s3-memory-store.js';
import { TreeSnapshotStore } from './tree-snapshot-store.js';

export interface Stores {
  blobs: BlobStore;
  snapshots: TreeSnapshotStore;
  /** Agent memory: `<prefix>memory/` in the bucket, or `memory/` under KEEL_HOME. */
  memory: MemoryStore;
  /** Where they are, for messages: a directory or `s3://bucket/prefix`. */
  where: string;
}

export interface S3Target {
  bucket: string;
  /** Key prefix, empty or ending in `/`. */
  prefix: string;
}

export function parseS3Url(url: string): S3Target {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new KeelError('bad_usage', `KEEL_STORE must look like s3://bucket/prefix, not ${JSON.stringify(url)}`);
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { bucket: m[1], prefix: prefix ? `${prefix}/` : '' };
}

/** An S3 client for the configured endpoint; path-style addressing whenever a custom endpoint is set. */
export function s3ClientFromEnv(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = env.KEEL_S3_ENDPOINT ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const pathStyle = env.KEEL_S3_PATH_STYLE ? env.KEEL_S3_PATH_STYLE !== '0' : endpoint !== undefined;
  return new (awsS3().S3Client)({
    endpoint,
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: pathStyle,
    // Keys in `env` (which may not be process.env); otherwise the SDK's default chain (env, profile, role).
    credentials:
      env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? {
            accessKeyId: env.AWS_ACCESS_KEY_ID,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
            sessionToken: env.AWS_SESSION_TOKEN,
          }
        : undefined,
    maxAttempts: 5, // the SDK's own retries with backoff for throttling and 5xx
  });
}

/** Blob, snapshot and memory stores in one bucket, under `<prefix>blobs/`, `<prefix>snapshots/` and `<prefix>memory/`. */
export function s3Stores(client: S3Client, target: S3Target): Stores {
  const blobs = new S3BlobStore({ client, bucket: target.bucket, prefix: `${target.prefix}blobs/` });
  const objects = new S3BlobStore({ client, bucket: target.bucket, prefix: `${target.prefix}snapshots/` });
  const memory = new S3MemoryStore({ client, bucket: target.bucket, prefix: `${target.prefix}memory/` });
  return { blobs, snapshots: new TreeSnapshotStore(objects), memory, where: `s3://${target.bucket}/${target.prefix}` };
}

/** Local stores under `home`; snapshots written before they were incremental (`<hex>.tar`) still restore. */
export function localStores(home?: string): Stores {
  const blobsDir = home ? path.join(home, 'blobs') : keelPaths.blobs();
  const snapshotsDir = home ? path.join(home, 'snapshots') : keelPaths.snapshots();
  const memory = new LocalMemoryStore(home ? path.join(home, 'memory') : keelPaths.memory());
  const snapshots = new TreeSnapshotStore(
    new LocalBlobStore(path.join(snapshotsDir, 'objects')),
    new LocalSnapshotStore(snapshotsDir),
  );
  return { blobs: new LocalBlobStore(blobsDir), snapshots, memory, where: path.dirname(blobsDir) };
}

export function storesFromEnv(env: NodeJS.ProcessEnv = process.env): Stores {
  const store = env.KEEL_STORE;
  if (!store || store === 'file:') return localStores();
  if (store.startsWith('file:')) return localStores(path.resolve(store.slice('file:'.length)));
  return s3Stores(s3ClientFromEnv(env), parseS3Url(store));
}
