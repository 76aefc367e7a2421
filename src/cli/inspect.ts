/** `keel state` and `keel ls`: what a run is doing, and which runs there are. */
import { describeReceipt } from '../agents/run-workspace.js';
import { formatTree } from '../run-tree.js';
import type { RunStatus } from '../workflows/run-state.js';
import { connectClient, str, usage, type Command } from './command.js';

export const state: Command = {
  name: 'state',
  usage: 'state <runId> [--json]         the run and its child runs (--json: its RunState, as the runState query)',
  options: { json: { type: 'boolean' } },
  async run([runId], values) {
    if (!runId) usage('state needs a run id');
    const client = await connectClient();
    const s = await client.getState(runId, { items: values.json ? 'all' : 'recent' });
    if (values.json) {
      console.log(JSON.stringify(s, null, 2));
      return s.status === 'failed' ? 1 : 0;
    }
    // One line per run (agent tools, fan-out items under their parent), pending approvals and errors under each.
    for (const line of formatTree(await client.getTree(runId))) console.log(line);
    if (s.finalOutput !== undefined) console.log(`  output: ${JSON.stringify(s.finalOutput)}`);
    if (s.tenant !== undefined) console.log(`  tenant: ${s.tenant}`);
    if (s.workspace)
      for (const line of ['workspace:', ...describeReceipt(s.workspace).map((l) => `  ${l}`)]) console.log(`  ${line}`);
    const kept = s.sandbox?.kept;
    if (kept)
      console.log(
        `  sandbox kept: container ${kept.name ?? s.sandbox!.containerId.slice(0, 12)} on ${s.sandbox!.host} (${kept.reason})`,
      );
    const snapshotFailure = s.sandbox?.snapshotFailure;
    if (snapshotFailure) console.log(`  snapshot of turn ${snapshotFailure.turn} failed: ${snapshotFailure.message}`);
    return s.status === 'failed' ? 1 : 0;
  },
};

export const ls: Command = {
  name: 'ls',
  usage: 'ls [--status STATUS] [--agent NAME]',
  options: { status: { type: 'string' }, agent: { type: 'string' } },
  async run(_args, values) {
    const runs = await (
      await connectClient()
    ).list({ status: str(values, 'status') as RunStatus | undefined, agent: str(values, 'agent') });
    for (const r of runs)
      console.log(
        `${r.runId}  ${r.agent ?? '-'}  ${r.status ?? '-'}  ${r.totalTokens ?? 0} tokens${r.costUsd !== undefined ? `  $${r.costUsd.toFixed(4)}` : ''}  ${r.startTime.toISOString()}`,
      );
    return 0;
  },
};
