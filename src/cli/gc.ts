/**
 * `keel gc [--dry-run] [--min-age HOURS]`: deletes blobs and snapshot objects that no run Temporal still retains
 * references (src/storage/gc.ts). Uses the stores a worker would (KEEL_STORE / KEEL_HOME) and TEMPORAL_ADDRESS.
 */
import type { Client } from '@temporalio/client';
import { KeelError } from '../errors.js';
import { connectClient, str, type Command } from './command.js';
import { storesFromEnv } from '../storage/config.js';
import { collectGarbage, type GcReport } from '../storage/gc.js';

/** The history of every workflow execution the namespace still retains (running, closed, continued as new). */
async function* retainedHistories(client: Client): AsyncIterable<unknown> {
  for await (const wf of client.workflow.list()) {
    yield await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
  }
}

export function formatGcReport(r: GcReport): string {
  const verb = r.dryRun ? 'would delete' : 'deleted';
  return `keel gc: ${r.runs} retained run execution(s) reference ${r.kept.blobs} blob(s) and ${r.kept.snapshotObjects} snapshot object(s); ${verb} ${r.deleted.objects} object(s), ${r.deleted.bytes} bytes`;
}

export async function gcCommand(client: Client, options: { dryRun?: boolean; minAgeHours?: string }): Promise<string> {
  const hours = options.minAgeHours === undefined ? 24 : Number(options.minAgeHours);
  if (!Number.isFinite(hours) || hours < 0)
    throw new KeelError('bad_usage', `--min-age must be a number of hours, not ${JSON.stringify(options.minAgeHours)}`);
  const stores = storesFromEnv();
  const report = await collectGarbage({
    blobs: stores.blobs,
    snapshots: stores.snapshots,
    histories: retainedHistories(client),
    minAgeMs: hours * 3_600_000,
    dryRun: options.dryRun ?? false,
  });
  return `${formatGcReport(report)} (${stores.where})`;
}

export const gc: Command = {
  name: 'gc',
  usage:
    'gc [--dry-run] [--min-age HOURS]  deletes blobs and snapshots no retained run references (objects younger than 24 h stay)',
  options: { 'dry-run': { type: 'boolean' }, 'min-age': { type: 'string' } },
  async run(_positionals, values) {
    const client = (await connectClient()).temporal;
    console.log(await gcCommand(client, { dryRun: values['dry-run'] === true, minAgeHours: str(values, 'min-age') }));
    return 0;
  },
};
