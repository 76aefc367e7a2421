/**
 * Patch id `keel-lean-run`: fewer server round trips per run. Search attributes are upserted only when a value
 * changed, child runs start with theirs set, and the final turn's tokens go with the end status. Runs recorded
 * before it replay as they were. (Local activities for resolveAgent and the warm claim were withdrawn: docs/performance.md.)
 */
export const LEAN_RUN = 'keel-lean-run';
