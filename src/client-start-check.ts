/**
 * Right after a run starts: did a worker pick it up and resolve its agent? Lets the CLI fail at once on an agent
 * no worker knows (with the list the worker knows) instead of printing an id for a run that is already failing.
 */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { KeelError } from './errors.js';
import { isCompletedLocalActivity } from './local-activity-marker.js';

export type StartCheck = 'resolved' | 'no-worker-yet';

/** Polls the run's description until its agent resolved, it failed, or `timeoutMs` passed without a worker. */
export async function checkStarted(handle: WorkflowHandle, timeoutMs: number): Promise<StartCheck> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const d = await handle.describe();
    // A run that failed after resolving its agent (e.g. a model error) is the caller's to report, not "unknown agent".
    if (d.status.name === 'FAILED' || d.status.name === 'TERMINATED')
      return (await firstActivityCompleted(handle)) ? 'resolved' : throwFailure(handle);
    if (d.status.name !== 'RUNNING') return 'resolved';
    const resolving = d.raw.pendingActivities?.find((a) => a.activityType?.name === 'resolveAgent');
    const failure = resolving?.lastFailure?.message;
    if (failure) {
      await handle.terminate(`agent could not be resolved: ${failure}`);
      throw new KeelError('agent_not_found', failure);
    }
    if (!resolving && (d.historyLength ?? 0) > 5 && (await firstActivityCompleted(handle))) return 'resolved';
    await new Promise((r) => setTimeout(r, 100));
  }
  return 'no-worker-yet';
}

/**
 * Whether the run's first activity (resolveAgent, a local activity in newer runs: a marker) completed; a failed
 * one ends the run, which the caller sees next.
 */
async function firstActivityCompleted(handle: WorkflowHandle): Promise<boolean> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).some(
    (e) => e.activityTaskCompletedEventAttributes || isCompletedLocalActivity(e.markerRecordedEventAttributes),
  );
}

async function throwFailure(handle: WorkflowHandle): Promise<never> {
  try {
    await handle.result();
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw new KeelError('agent_not_found', rootCause(err));
    throw err;
  }
  throw new KeelError('agent_not_found', 'the run ended at once');
}

/** The innermost failure message: an activity failure's ApplicationFailure, not "Activity task failed". */
export function rootCause(err: unknown): string {
  let e = err as { cause?: unknown; message?: string } | undefined;
  while (e?.cause && typeof e.cause === 'object') e = e.cause as typeof e;
  return e?.message ?? String(err);
}
