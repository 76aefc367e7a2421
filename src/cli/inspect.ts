/** `keel state` and `keel ls`: what a run is doing, and which runs there are. */
import type { RunStatus } from '../workflows/run-state.js';
import { connectClient, str, usage, type Command } from './command.js';

export const state: Command = {
  name: 'state',
  usage: 'state <runId> [--json]         the RunState (same as the runState query)',
  options: { json: { type: 'boolean' } },
  async run([runId], values) {
    if (!runId) usage('state needs a run id');
    const s = await (await connectClient()).getState(runId);
    if (values.json) {
      console.log(JSON.stringify(s, null, 2));
      return s.status === 'failed' ? 1 : 0;
    }
    console.log(`${s.runId}  agent=${s.agent}  status=${s.status}  turn=${s.turn}  tokens=${s.usage.totalTokens}`);
    for (const p of s.pendingApprovals) console.log(`  pending ${p.callId} ${p.tool} ${p.arguments}`);
    if (s.finalOutput !== undefined) console.log(`  output: ${JSON.stringify(s.finalOutput)}`);
    if (s.error) console.log(`  error: ${s.error.type}: ${s.error.message}`);
    return s.status === 'failed' ? 1 : 0;
  },
};

export const ls: Command = {
  name: 'ls',
  usage: 'ls [--status STATUS] [--agent NAME]',
  options: { status: { type: 'string' }, agent: { type: 'string' } },
  async run(_args, values) {
    const runs = await (await connectClient()).list({ status: str(values, 'status') as RunStatus | undefined, agent: str(values, 'agent') });
    for (const r of runs) console.log(`${r.runId}  ${r.agent ?? '-'}  ${r.status ?? '-'}  ${r.totalTokens ?? 0} tokens  ${r.startTime.toISOString()}`);
    return 0;
  },
};
