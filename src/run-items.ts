/**
 * The whole conversation of a RunState read on the client side. A long run's state holds its earlier items by
 * reference (`archivedItems`, see docs/long-runs.md); they are read back from the workers' blob store.
 */
import { loadHistory } from './storage/conversation.js';
import { KeelError } from './errors.js';
import type { BlobStore } from './storage/blob-store.js';
import type { RunState } from './workflows/run-state.js';
import { isFailure } from './failures.js';

/** `state` with every item inline (its archived items read from `blobs`); unchanged when none are archived. */
export async function withAllItems(state: RunState, blobs: BlobStore): Promise<RunState> {
  const archived = state.archivedItems;
  if (!archived) return state;
  try {
    const items = await loadHistory(blobs, { baseRef: archived.ref, baseLength: archived.count, delta: state.items });
    const { archivedItems: _, ...rest } = state;
    return { ...rest, items };
  } catch (err) {
    if (!isFailure(err, 'BlobMissing')) throw err;
    const why = `run ${state.runId}: its first ${archived.count} items are stored by reference (${archived.ref}) and ${err.message}`;
    throw new KeelError(
      'blob_missing',
      `${why}; point KEEL_STORE (or the client's blobs option) at the workers' blob store`,
      { cause: err },
    );
  }
}
