/**
 * How many runs a worker keeps in its workflow cache. A cached run continues from memory on its next workflow task;
 * a run evicted from the cache (least recently used first) costs the worker nothing until it wakes, then replays its
 * history once. Parked runs (waiting days for an approval) are the least recently used, so a cache sized for the
 * runs that are actually working keeps the worker small however many runs are parked (docs/operations.md).
 */

/** Runs kept in memory by default: well above the runs two cores keep busy at once, a small part of the memory parked runs took. */
export const DEFAULT_WORKFLOW_CACHE_SIZE = 100;

/** KEEL_WORKFLOW_CACHE_SIZE (0 = no cache: every workflow task replays), else the default. */
export function workflowCacheSizeFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.KEEL_WORKFLOW_CACHE_SIZE;
  if (raw === undefined || raw === '') return DEFAULT_WORKFLOW_CACHE_SIZE;
  return checkedCacheSize(
    Number(raw),
    `KEEL_WORKFLOW_CACHE_SIZE must be a whole number of runs (0 or more), not '${raw}'`,
  );
}

export function checkedCacheSize(
  size: number,
  message = `workflowCacheSize must be a whole number of runs (0 or more), not ${size}`,
): number {
  if (!Number.isInteger(size) || size < 0) throw new Error(message);
  return size;
}
