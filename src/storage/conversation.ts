/**
 * The conversation in the blob store, append-only: each model turn stores only the items added since the last
 * stored chunk, chained to it by hash, so a run of N turns stores O(N) bytes. A worker keeps the conversations it
 * assembled recently, so the next turn reads just the new chunk; another worker follows the chain once.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { BlobStore } from './blob-store.js';
import { WeightedLru } from './lru.js';
import type { RunItem } from '../workflows/run-state.js';
import { keelFailure } from '../failures.js';

/** A conversation as a model call sends it: what the blob store holds by ref (its length), plus the items since. */
export interface ConversationRef {
  baseRef?: string;
  baseLength: number;
  delta: RunItem[];
}

export interface ConversationChunk {
  v: 1;
  kind: 'keel.conversation';
  /** The chunk before this one (absent for the first). */
  prev?: string;
  /** Items in the whole conversation up to and including this chunk. */
  length: number;
  items: RunItem[];
}

/** Per store: assembled conversations by the ref of their last chunk (bounded by their total item count). */
const caches = new WeakMap<BlobStore, WeightedLru<RunItem[]>>();
function cacheOf(blobs: BlobStore): WeightedLru<RunItem[]> {
  let cache = caches.get(blobs);
  if (!cache) caches.set(blobs, (cache = new WeightedLru<RunItem[]>(100_000, (items) => items.length + 1)));
  return cache;
}

function blobMissing(message: string): ApplicationFailure {
  // The workflow answers this by sending the whole conversation once.
  return keelFailure('BlobMissing', message);
}

/** The items a chunk ref stands for: follows `prev` until a conversation this worker has assembled, or the start. */
async function assemble(blobs: BlobStore, ref: string): Promise<RunItem[]> {
  const assembled = cacheOf(blobs);
  const chunks: ConversationChunk[] = [];
  let base: RunItem[] = [];
  for (let at: string | undefined = ref; at;) {
    const known = assembled.get(at);
    if (known) {
      base = known;
      break;
    }
    const bytes = await blobs.get(at);
    if (!bytes) throw blobMissing(`conversation blob ${at} is not in this worker's blob store`);
    const parsed = JSON.parse(bytes.toString('utf8')) as ConversationChunk | RunItem[];
    if (Array.isArray(parsed)) {
      base = parsed; // a whole conversation, as stored before chunks
      break;
    }
    chunks.push(parsed);
    at = parsed.prev;
  }
  const items = base.concat(...chunks.reverse().map((c) => c.items));
  assembled.set(ref, items);
  return items;
}

export async function loadHistory(blobs: BlobStore, history: ConversationRef): Promise<RunItem[]> {
  if (!history.baseRef) return history.delta;
  const items = await assemble(blobs, history.baseRef);
  if (items.length !== history.baseLength) {
    throw blobMissing(`conversation blob has ${items.length} items, expected ${history.baseLength}`);
  }
  return [...items, ...history.delta];
}

/** Stores the items after `history.baseRef` as a new chunk; returns the ref naming the whole conversation. */
export async function appendHistory(blobs: BlobStore, history: ConversationRef, items: RunItem[]): Promise<string> {
  if (history.baseRef && history.delta.length === 0) return history.baseRef;
  const chunk: ConversationChunk = {
    v: 1,
    kind: 'keel.conversation',
    prev: history.baseRef,
    length: items.length,
    items: history.delta,
  };
  const ref = await blobs.put(JSON.stringify(chunk));
  cacheOf(blobs).set(ref, items);
  return ref;
}
