/**
 * `client.workspace(runId, { turn })`: a handle on one stored snapshot of a run's workspace (its last by default;
 * also of a failed or cancelled run) read from the configured snapshot store (local directory or S3), so it works
 * on any host sharing the store and after the container is gone. List, read a file, stream a tar, extract, and
 * diff against the run's starting workspace.
 */
import { Transform, type Readable } from 'node:stream';
import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { KeelError } from '../errors.js';
import type { TreeSnapshotStore } from '../storage/tree-snapshot-store.js';
import { SNAPSHOT_ID } from '../storage/snapshot-tree.js';
import type { SnapshotRef } from '../workflows/run-state.js';
import { diffSides } from './diff.js';
import { extractSnapshot, tooLarge } from './extract.js';
import { pickSnapshot, runSnapshots, type RunSnapshots } from './run-snapshots.js';
import { SnapshotFiles, type WorkspaceEntry } from './snapshot-files.js';

export type { WorkspaceEntry } from './snapshot-files.js';

/** Default cap on a workspace tar (and on what extract and diff write): 4 GiB. */
export const DEFAULT_WORKSPACE_TAR_MAX_BYTES = 4 * 1024 ** 3;

export interface WorkspaceOptions {
  /** The snapshot of this turn (the last taken at or before it); default the run's last snapshot. */
  turn?: number;
  /** Cap on `tar()`, `extract()` and `diff()`; default KEEL_WORKSPACE_TAR_MAX_BYTES, else 4 GiB. */
  maxTarBytes?: number;
}

/** The cap from `given`, else KEEL_WORKSPACE_TAR_MAX_BYTES, else the default. */
export function workspaceTarCap(given?: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = given ?? env.KEEL_WORKSPACE_TAR_MAX_BYTES;
  if (raw === undefined || raw === '') return DEFAULT_WORKSPACE_TAR_MAX_BYTES;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new KeelError(
      'bad_usage',
      `the workspace tar cap (KEEL_WORKSPACE_TAR_MAX_BYTES) must be a positive integer, not ${JSON.stringify(raw)}`,
    );
  return n;
}

export class RunWorkspace {
  private readonly files: SnapshotFiles;

  constructor(
    readonly runId: string,
    /** The snapshot this handle reads. */
    readonly snapshot: SnapshotRef,
    private readonly snapshots: RunSnapshots,
    private readonly store: TreeSnapshotStore,
    readonly maxTarBytes: number,
  ) {
    if (!SNAPSHOT_ID.test(snapshot.id)) {
      throw new KeelError(
        'not_found',
        `snapshot ${snapshot.id} of run ${runId} predates incremental snapshots; it cannot be read file by file`,
      );
    }
    this.files = new SnapshotFiles(store, snapshot.id);
  }

  /** Every entry under `dir` (default the whole workspace), paths relative to /workspace. */
  list(dir?: string): Promise<WorkspaceEntry[]> {
    return this.files.list(dir);
  }

  /** The entry at `path` (symlinks inside the workspace followed); the root is a directory entry with path ''. */
  async stat(path: string): Promise<WorkspaceEntry> {
    const { entry, parts } = await this.files.resolve(path);
    return entry
      ? {
          path: parts.join('/'),
          type: entry.type,
          mode: entry.mode,
          ...(entry.size !== undefined ? { size: entry.size } : {}),
        }
      : { path: '', type: 'directory', mode: 0o755 };
  }

  /** One file's bytes. A path outside the workspace (absolute, `..`, a symlink leading out) is refused. */
  read(path: string): Promise<Buffer> {
    return this.files.read(path);
  }

  /** The workspace as a tar stream (refused up front when larger than the cap, and cut off should it grow past it). */
  async tar(): Promise<Readable> {
    const { tarBytes } = await this.store.describe(this.snapshot.id);
    const cap = this.maxTarBytes;
    if (tarBytes > cap) throw tooLarge(cap);
    let sent = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        sent += chunk.length;
        done(sent > cap ? tooLarge(cap) : null, chunk);
      },
    });
    const source = await this.store.get(this.snapshot.id);
    source.on('error', (err) => meter.destroy(err));
    return source.pipe(meter);
  }

  /** Writes the workspace (or the directory or file at `path`) into `dir`, which must be new or empty. */
  extract(dir: string, path?: string): Promise<number> {
    return extractSnapshot(this.store, this.files, dir, { path, maxBytes: this.maxTarBytes });
  }

  /**
   * The unified diff (git's format) from the run's starting workspace to this snapshot; `.git` directories (a
   * repository's object store) left out. Empty when nothing changed.
   */
  async diff(): Promise<string> {
    const start = this.snapshots.start;
    if (!start) {
      const why = this.snapshots.startFailure
        ? `its start snapshot failed: ${this.snapshots.startFailure}`
        : 'it started before Keel recorded starting workspaces, or has no sandbox';
      throw new KeelError('not_found', `run ${this.runId} has no starting workspace to diff against (${why})`);
    }
    const base = new RunWorkspace(this.runId, start, this.snapshots, this.store, this.maxTarBytes);
    const side = (ws: RunWorkspace) => (dir: string, skip: (rel: string) => boolean) =>
      extractSnapshot(ws.store, ws.files, dir, { skip, maxBytes: ws.maxTarBytes });
    return diffSides(side(base), side(this));
  }
}

/** The handle on `runId`'s snapshot of `turn` (default: its last), from its history and the snapshot store. */
export async function openRunWorkspace(
  client: Client,
  runId: string,
  store: TreeSnapshotStore,
  options: WorkspaceOptions & { dataConverter?: DataConverter } = {},
): Promise<RunWorkspace> {
  const maxTarBytes = workspaceTarCap(options.maxTarBytes);
  const snapshots = await runSnapshots(client, runId, options.dataConverter);
  return new RunWorkspace(runId, pickSnapshot(runId, snapshots, options.turn), snapshots, store, maxTarBytes);
}
