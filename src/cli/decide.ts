/**
 * `keel approve` / `keel reject`: decisions through the validated `decide` update, sent to the run in the tree (the
 * run and its child runs) that asked, so that run's approver rules apply. `--all` lists every call it would decide
 * (run, agent, tool, arguments), asks, and decides exactly those: a call that appears afterwards stays pending.
 */
import { createInterface } from 'node:readline/promises';
import type { KeelClient } from '../client.js';
import type { TreeApproval } from '../run-tree.js';
import { connectClient, str, usage, type Command, type Values } from './command.js';
import { extensionProblem } from '../agents/budget.js';

function decideCommand(decision: 'approve' | 'reject'): Command {
  return {
    name: decision,
    usage: `${decision} <runId> [<callId>|--all [--yes]] --by NAME [--reason TEXT] [--always] [--key FILE] [--extend-tokens N] [--extend-usd USD]   (--extend-*: approving a budget call, how much more the run tree may spend; --all: lists every call pending in the run's tree and asks; --yes: without asking; --key or KEEL_APPROVER_KEY: sign with the approver's key)`,
    options: {
      all: { type: 'boolean' },
      yes: { type: 'boolean' },
      by: { type: 'string' },
      reason: { type: 'string' },
      always: { type: 'boolean' },
      key: { type: 'string' },
      'extend-tokens': { type: 'string' },
      'extend-usd': { type: 'string' },
    },
    async run([runId, callId], values) {
      if (!runId) usage(`${decision} needs a run id`);
      const by = str(values, 'by');
      if (!by) usage(`${decision} needs --by NAME (who decides)`);
      if (!callId && !values.all) usage(`${decision} needs a callId or --all`);
      const client = await connectClient();
      const key = str(values, 'key') ?? process.env.KEEL_APPROVER_KEY;
      const options = { by, reason: str(values, 'reason'), always: Boolean(values.always), key, ...extension(values) };
      const results = values.all
        ? await decideListed(client, runId, decision, options, values)
        : [await client[decision](runId, callId, options)];
      for (const r of results) {
        const at = 'runId' in r && r.runId !== runId ? ` in ${r.runId}` : '';
        console.log(
          `${r.decision === 'approve' ? 'approved' : 'rejected'} ${r.callId}${at}${r.stillPending.length ? ` (still pending: ${r.stillPending.join(', ')})` : ''}`,
        );
      }
      return 0;
    },
  };
}

/** `--extend-tokens N` / `--extend-usd USD` (bad usage unless numbers >= 0; the run refuses them for other calls). */
function extension(values: Values): { extendTokens?: number; extendUsd?: number } {
  const tokens = str(values, 'extend-tokens');
  const usd = str(values, 'extend-usd');
  const ext = {
    ...(tokens !== undefined ? { extendTokens: Number(tokens) } : {}),
    ...(usd !== undefined ? { extendUsd: Number(usd) } : {}),
  };
  const problem = extensionProblem(ext.extendTokens, ext.extendUsd);
  if (problem) usage(problem.replace('extendTokens', '--extend-tokens').replace('extendUsd', '--extend-usd'));
  return ext;
}

type Options = Parameters<KeelClient['decideAll']>[2];

/** Shows the calls pending in the tree, asks (unless --yes), then decides exactly those. */
async function decideListed(
  client: KeelClient,
  runId: string,
  decision: 'approve' | 'reject',
  options: Options,
  values: Values,
) {
  const calls = await client.pendingInTree(runId);
  if (calls.length === 0) {
    console.log(`run ${runId} (and its children) has no pending approvals`);
    return [];
  }
  console.log(`${calls.length} pending call(s) to ${decision}:`);
  for (const c of calls) console.log(`  ${describeCall(c)}`);
  if (!values.yes && !(await confirmed(`${decision} these ${calls.length} call(s)? [y/N] `))) {
    if (!process.stdin.isTTY)
      usage(
        `${decision} --all decides nothing without a terminal to ask in: add --yes to ${decision} exactly the calls listed`,
      );
    console.log('nothing decided');
    return [];
  }
  return client.decideAll(runId, decision, options, calls);
}

/** One line: where, who, what, with which arguments (capped so a huge argument does not flood the terminal). */
export function describeCall(c: TreeApproval): string {
  const args = c.arguments.length > 500 ? `${c.arguments.slice(0, 500)}… (${c.arguments.length} chars)` : c.arguments;
  return `${c.runId}  ${c.callId}  agent=${c.agent}  ${c.tool} ${args}`;
}

async function confirmed(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export const approve = decideCommand('approve');
export const reject = decideCommand('reject');
