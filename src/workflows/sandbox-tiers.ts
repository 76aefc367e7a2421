/**
 * Task-queue names of sandbox tiers (pure: the workflow and the worker both use them). A sandbox of tier T is
 * created on the tier's shared queue (`<taskQueue>-sandbox-<T>`, polled by every worker offering T); its later
 * activities go to the queue of the host that created it, as for any sandbox.
 */
import type { SandboxTier } from '../sandbox/types.js';

/** The queue every worker offering `tier` polls for sandbox creations. */
export function tierQueue(taskQueue: string, tier: SandboxTier): string {
  return `${taskQueue}-sandbox-${tier}`;
}

/** A host's own queue for the sandboxes of `tier` it runs (its default tier keeps the plain host queue). */
export function tierHostQueue(hostQueue: string, tier: SandboxTier): string {
  return `${hostQueue}~${tier}`;
}
