/**
 * The trees of recent snapshots a worker keeps in memory, per sandbox, so the sandbox's next export can send only
 * what changed since (its agent keeps the matching index, named by a token). Bounded by entries and by sandboxes,
 * oldest out first.
 */
import type { DirNode } from './snapshot-tree.js';

/** Entries kept across all sandboxes (a 100,000-file workspace is tens of MB of tree in memory). */
const MAX_ENTRIES = 1_000_000;
/** Sandboxes kept (removed sandboxes are never told about: they age out). */
const MAX_BASES = 1_000;

export interface SnapshotBase {
  /** The agent's index token the tree matches. */
  token: string;
  root: DirNode;
}

export class SnapshotBases {
  private readonly bases = new Map<string, SnapshotBase>();

  /** The token a sandbox's next export may be incremental against. */
  token(key: string): string | undefined {
    return this.bases.get(key)?.token;
  }

  /** Removes and returns a sandbox's base: a snapshot that fails half-way must not leave a half-applied tree. */
  take(key: string): SnapshotBase | undefined {
    const base = this.bases.get(key);
    this.bases.delete(key);
    return base;
  }

  keep(key: string, base: SnapshotBase): void {
    this.bases.delete(key);
    this.bases.set(key, base);
    let total = 0;
    for (const b of this.bases.values()) total += b.root.count ?? 0;
    for (const [k, b] of this.bases) {
      if ((total <= MAX_ENTRIES && this.bases.size <= MAX_BASES) || k === key) break;
      total -= b.root.count ?? 0;
      this.bases.delete(k);
    }
  }
}
