/**
 * Garbage collection of the blob and snapshot stores: mark every ref that a retained run's history names (blob
 * refs, snapshot ids), follow conversation chains and snapshot trees, then delete what is unmarked and older than
 * a minimum age (a run may be about to record a ref it just wrote). Temporal's retention decides which runs are
 * retained: a run whose history Temporal deleted no longer holds anything.
 */
import type { BlobStore } from './blob-store.js';
import type { TreeSnapshotStore } from './tree-snapshot-store.js';

const BLOB_REF = /(?<!tree:)sha256:[0-9a-f]{64}/g;
const SNAPSHOT_REF = /tree:sha256:[0-9a-f]{64}/g;

export interface GcOptions {
  blobs: BlobStore;
  snapshots: TreeSnapshotStore;
  /** The histories (or any JSON-able records) of every retained run. */
  histories: AsyncIterable<unknown>;
  /** Objects younger than this are kept even when unreferenced. */
  minAgeMs: number;
  dryRun: boolean;
  now?: number;
}

export interface GcReport {
  runs: number;
  kept: { blobs: number; snapshotObjects: number };
  deleted: { objects: number; bytes: number };
  dryRun: boolean;
}

/** Every string in a history, payload bytes decoded as UTF-8 (payloads are JSON). */
function* strings(value: unknown, depth = 0): Generator<string> {
  if (depth > 64 || value === null || value === undefined) return;
  if (typeof value === 'string') yield value;
  else if (value instanceof Uint8Array) yield Buffer.from(value).toString('utf8');
  else if (Array.isArray(value)) for (const v of value) yield* strings(v, depth + 1);
  else if (typeof value === 'object') for (const v of Object.values(value)) yield* strings(v, depth + 1);
}

/**
 * Marks what marked blobs name in turn: a conversation chunk its predecessor and the outputs its items offloaded,
 * a capped output preview the whole output. Runs continued as new keep only their latest refs in history.
 */
async function followContents(blobs: BlobStore, marked: Set<string>): Promise<void> {
  const queue = [...marked];
  while (queue.length) {
    const bytes = await blobs.get(queue.pop()!).catch(() => undefined);
    if (!bytes) continue;
    for (const m of bytes.toString('latin1').matchAll(BLOB_REF)) {
      if (marked.has(m[0])) continue;
      marked.add(m[0]);
      queue.push(m[0]);
    }
  }
}

async function sweep(store: BlobStore, keep: Set<string>, o: GcOptions, report: GcReport): Promise<void> {
  const now = o.now ?? Date.now();
  for await (const obj of store.list()) {
    if (keep.has(obj.ref) || now - obj.modified.getTime() < o.minAgeMs) continue;
    report.deleted.objects++;
    report.deleted.bytes += obj.bytes;
    if (!o.dryRun) await store.delete(obj.ref);
  }
}

export async function collectGarbage(o: GcOptions): Promise<GcReport> {
  const blobRefs = new Set<string>();
  const snapshotIds = new Set<string>();
  let runs = 0;
  for await (const history of o.histories) {
    runs++;
    for (const s of strings(history)) {
      for (const m of s.matchAll(SNAPSHOT_REF)) snapshotIds.add(m[0]);
      for (const m of s.matchAll(BLOB_REF)) blobRefs.add(m[0]);
    }
  }
  await followContents(o.blobs, blobRefs);
  const snapshotObjects = new Set<string>();
  for (const id of snapshotIds) await o.snapshots.references(id, snapshotObjects).catch(() => undefined);
  const report: GcReport = {
    runs,
    kept: { blobs: blobRefs.size, snapshotObjects: snapshotObjects.size },
    deleted: { objects: 0, bytes: 0 },
    dryRun: o.dryRun,
  };
  await sweep(o.blobs, blobRefs, o, report);
  await sweep(o.snapshots.objects, snapshotObjects, o, report);
  return report;
}
