/**
 * Workspace snapshots in a local directory, content-addressed: a tar is streamed to a temporary file while it is
 * hashed, then renamed to `<sha256>.tar`, so a snapshot is never seen half-written and identical workspaces share
 * one file. An S3-compatible store can implement the same SnapshotStore interface.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SandboxError } from '../errors.js';
import type { SnapshotInfo, SnapshotStore } from './types.js';

const ID = /^(?:sha256:)?([0-9a-f]{64})$/;

/** Stores snapshots as `<dir>/<sha256>.tar`; ids look like `sha256:<hex>` (the bare hex is accepted too). */
export class LocalSnapshotStore implements SnapshotStore {
  constructor(readonly dir: string) {}

  async put(tar: Readable): Promise<SnapshotInfo> {
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.tmp-${randomUUID()}`);
    const hash = createHash('sha256');
    let bytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(tar, meter, createWriteStream(tmp));
      const handle = await open(tmp, 'r');
      await handle.sync().finally(() => handle.close());
      const sha256 = hash.digest('hex');
      await rename(tmp, this.pathOf(sha256));
      return { id: `sha256:${sha256}`, sha256, bytes };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async get(id: string): Promise<Readable> {
    const path = this.pathOf(this.hexOf(id));
    if (!(await exists(path))) throw new SandboxError('not_found', `snapshot ${id} not found in ${this.dir}`);
    return createReadStream(path);
  }

  async has(id: string): Promise<boolean> {
    const m = ID.exec(id);
    return m !== null && exists(this.pathOf(m[1]));
  }

  private hexOf(id: string): string {
    const m = ID.exec(id);
    if (!m) throw new SandboxError('not_found', `not a snapshot id: ${JSON.stringify(id)}`);
    return m[1];
  }

  private pathOf(hex: string): string {
    return join(this.dir, `${hex}.tar`);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
