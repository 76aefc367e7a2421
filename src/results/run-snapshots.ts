/**
 * A run's workspace snapshots, read from its event history (every execution across continue-as-new) rather than
 * from the run: a closed run needs no worker to answer a query, and the results are what the activities recorded,
 * not what a start request claimed. The starting workspace is the `startSnapshot` of the run's first
 * `createSandbox` result (patch keel-start-snapshot); every `snapshotSandbox` result is a turn's snapshot.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { loadRunEvents } from '../audit/history.js';
import { KeelError } from '../errors.js';
import type { SandboxSession, SnapshotRef } from '../workflows/run-state.js';

export interface RunSnapshots {
  /** The workspace as materialized at start, when the run recorded it. */
  start?: SnapshotRef;
  /** Why the start snapshot is missing, when its activity said. */
  startFailure?: string;
  /** Every snapshot in the order taken (the start snapshot first). */
  all: SnapshotRef[];
}

/** The snapshots `runId` recorded; an unknown run is one clear error. */
export async function runSnapshots(
  client: Client,
  runId: string,
  dataConverter?: DataConverter,
): Promise<RunSnapshots> {
  const events = await loadRunEvents(client, runId, dataConverter).catch((err: unknown) => {
    if (err instanceof WorkflowNotFoundError) throw new KeelError('not_found', `unknown run ${JSON.stringify(runId)}`);
    throw err;
  });
  const scheduled = new Map<number, string>();
  const out: RunSnapshots = { all: [] };
  const record = (activity: string, result: unknown) => {
    if (activity === 'snapshotSandbox') out.all.push(result as SnapshotRef);
    if (activity !== 'createSandbox' || out.start || out.startFailure) return;
    const session = result as SandboxSession;
    if (session.startSnapshot) out.all.push((out.start = session.startSnapshot));
    else if (session.snapshotFailure) out.startFailure = session.snapshotFailure.message;
  };
  for (const e of events) {
    if (e.kind === 'activity_scheduled') scheduled.set(e.eventId, e.activity);
    else if (e.kind === 'activity_completed') record(scheduled.get(e.scheduledEventId) ?? '', e.result);
    else if (e.kind === 'local_activity') record(e.activity, e.result);
  }
  return out;
}

/** The snapshot of turn `turn` (the last one taken at or before it), or the run's last one. */
export function pickSnapshot(runId: string, snapshots: RunSnapshots, turn?: number): SnapshotRef {
  const all = snapshots.all;
  if (!all.length)
    throw new KeelError('not_found', `run ${runId} has no workspace snapshot (no sandbox, or none taken yet)`);
  if (turn === undefined) return all.at(-1)!;
  if (!Number.isInteger(turn) || turn < 0)
    throw new KeelError('bad_usage', `turn must be a whole number >= 0, not ${turn}`);
  const last = all.at(-1)!.turn;
  const found = all.filter((s) => s.turn <= turn).at(-1);
  if (turn > last || !found) {
    const turns = [...new Set(all.map((s) => s.turn))].join(', ');
    throw new KeelError(
      'not_found',
      `run ${runId} has no snapshot of turn ${turn} (its snapshots are of turns ${turns})`,
    );
  }
  return found;
}
