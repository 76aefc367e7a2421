/**
 * Patch id `keel-lean-run`: fewer server round trips per run. The agent is resolved and the sandbox created by
 * local activities (each falls back to its regular activity), search attributes are upserted only when a value
 * changed, and child runs start with theirs set. Runs recorded before it replay as they were.
 */
export const LEAN_RUN = 'keel-lean-run';
