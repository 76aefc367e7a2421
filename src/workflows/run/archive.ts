/**
 * Items by reference: what continue-as-new carries of the conversation. The blob store already holds the items
 * the last model call sent (the conversation chain `run.cursor` names), so the next execution gets only the items
 * after them plus that ref; its input stays bounded however long the run (docs/long-runs.md).
 * `state.items` then starts at `state.archivedItems.count` of the whole conversation: indices into the whole
 * conversation (the cursor, a compaction cut) are `archivedCount(state)` more than indices into `state.items`.
 */
import type { ApprovalItem, RunItem, RunState } from '../run-state.js';
import { modelTurns } from '../run-state.js';
import { standingKey } from '../call-binding.js';

/** What the blob store already holds of the conversation (`run.cursor`), so each model call sends only what is new. */
export interface HistoryCursor {
  ref?: string;
  length: number;
}

/** Items of the conversation held only by reference (0 for runs that never continued as new this way). */
export function archivedCount(state: RunState): number {
  return state.archivedItems?.count ?? 0;
}

/** The cursor a carried state starts from when its input names none (resume/fork of a state with archived items). */
export function archivedCursor(state: RunState | undefined): HistoryCursor | undefined {
  const a = state?.archivedItems;
  return a && { ref: a.ref, length: a.count };
}

/** The latest approval item per standing decision, among those archived before and `items` (oldest first). */
function standingOrigins(state: RunState, items: RunItem[]): ApprovalItem[] {
  const all = [...(state.archivedItems?.approvals ?? []), ...items];
  const origins: ApprovalItem[] = [];
  for (const [key, decision] of Object.entries(state.standingDecisions)) {
    const origin = [...all]
      .reverse()
      .find(
        (i): i is ApprovalItem =>
          i.type === 'approval' && standingKey(i.agent ?? '', i.tool) === key && i.decision === decision,
      );
    if (origin) origins.push(origin);
  }
  return origins;
}

/** Approval items a standing decision may name as its origin: archived ones first, then the items held. */
export function approvalHistory(state: RunState): RunItem[] {
  return state.archivedItems ? [...state.archivedItems.approvals, ...state.items] : state.items;
}

/**
 * The RunState continue-as-new carries: the items the stored conversation `cursor` covers move out of `items` into
 * `archivedItems` (by ref). `moved` says how many left `items`, so counters over `items` (the event log) follow.
 */
export function carriedState(state: RunState, cursor: HistoryCursor): { state: RunState; moved: number } {
  const moved = cursor.length - archivedCount(state);
  if (!cursor.ref || moved <= 0 || moved > state.items.length) return { state, moved: 0 };
  const dropped = state.items.slice(0, moved);
  const archivedItems = {
    ref: cursor.ref,
    count: cursor.length,
    modelTurns: (state.archivedItems?.modelTurns ?? 0) + modelTurns(dropped),
    approvals: standingOrigins(state, dropped),
  };
  return { state: { ...state, items: state.items.slice(moved), archivedItems }, moved };
}
