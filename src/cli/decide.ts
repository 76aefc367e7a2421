/**
 * `keel approve` / `keel reject`: decisions through the validated `decide` update, sent to the run in the tree (the
 * run and its child runs) that asked, so that run's approver rules apply.
 */
import { connectClient, str, usage, type Command } from './command.js';

function decideCommand(decision: 'approve' | 'reject'): Command {
  return {
    name: decision,
    usage: `${decision} <runId> [<callId>|--all] --by NAME [--reason TEXT] [--always]   (--all: every pending call in the run's tree)`,
    options: { all: { type: 'boolean' }, by: { type: 'string' }, reason: { type: 'string' }, always: { type: 'boolean' } },
    async run([runId, callId], values) {
      if (!runId) usage(`${decision} needs a run id`);
      const by = str(values, 'by');
      if (!by) usage(`${decision} needs --by NAME (who decides)`);
      if (!callId && !values.all) usage(`${decision} needs a callId or --all`);
      const client = await connectClient();
      const options = { by, reason: str(values, 'reason'), always: Boolean(values.always) };
      const results = values.all ? await client.decideAll(runId, decision, options) : [await client[decision](runId, callId, options)];
      if (results.length === 0) console.log(`run ${runId} (and its children) has no pending approvals`);
      for (const r of results) {
        const at = 'runId' in r && r.runId !== runId ? ` in ${r.runId}` : '';
        console.log(`${r.decision === 'approve' ? 'approved' : 'rejected'} ${r.callId}${at}${r.stillPending.length ? ` (still pending: ${r.stillPending.join(', ')})` : ''}`);
      }
      return 0;
    },
  };
}

export const approve = decideCommand('approve');
export const reject = decideCommand('reject');
