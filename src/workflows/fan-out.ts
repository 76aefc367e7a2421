/**
 * `fanOut`: one agent over many inputs (`client.startMany`). Each input is its own child `agentRun` with id
 * `<jobId>/<index>` (so its own sandbox, approvals and usage), at most `concurrency` at once. Items that fail or
 * are cancelled are reported in their slot; the others carry on. The job answers `runState` like a run with no
 * turns of its own whose children are the items, so `keel state`, tree approvals and cancel treat it as one.
 */
import { CancellationScope, isCancellation, setHandler, workflowInfo } from '@temporalio/workflow';
import { EventLog, isTerminal } from '../live/events.js';
import { runChild } from './child-runs.js';
import { registerEventHandlers } from './event-handlers.js';
import {
  MAX_FAN_OUT_INPUTS,
  runStateQuery,
  type FanOutInput,
  type FanOutItemResult,
  type FanOutResult,
} from './messages.js';
import { initialRunState, type RunState } from './run-state.js';
import { childUsage, type ChildRun } from './tree.js';
import { budgetProblem, spendText, type Budget } from '../agents/budget.js';
import { budgetsOn, childGrant, overBudget, spendOf } from './budget.js';
import { FAILURE_TYPES, keelFailure } from '../failures.js';

export async function fanOut(input: FanOutInput): Promise<FanOutResult> {
  const { workflowId } = workflowInfo();
  const inputs = input.inputs ?? [];
  if (inputs.length > MAX_FAN_OUT_INPUTS) {
    throw keelFailure('BadInput', `a fan-out takes at most ${MAX_FAN_OUT_INPUTS} inputs, not ${inputs.length}`);
  }
  const state: RunState = initialRunState({
    runId: workflowId,
    agent: input.agent,
    input: [],
    context: input.context,
    now: new Date().toISOString(),
  });
  if (input.parent) state.parent = input.parent;
  const parent = { runId: workflowId, rootId: input.parent?.rootId ?? workflowId };
  state.children = inputs.map((_, index) => ({
    runId: `${workflowId}/${index}`,
    agent: input.agent,
    index,
    status: 'queued' as const,
  }));
  setHandler(runStateQuery, () => state);
  // Its items starting and ending, as events: `keel watch <jobId>` follows the tree from here.
  const events = new EventLog();
  const sync = () => events.sync(state, new Date().toISOString());
  registerEventHandlers(events, () => ({
    done: isTerminal(state.status),
    continuing: false,
    closing: isTerminal(state.status),
  }));

  const budget = input.budget !== undefined ? checkedBudget(input.budget) : undefined;
  if (budget) state.budget = budget; // shown by `keel state` against the items' spend
  const concurrency = Math.min(Math.max(1, input.concurrency ?? 4), inputs.length);
  let next = 0;
  const slot = async () => {
    while (next < inputs.length) {
      const index = next++;
      const record = state.children[index];
      const grant = budget && itemGrant(budget, state.children, concurrency);
      if (grant && 'refused' in grant) {
        Object.assign(record, { status: 'failed', error: { type: FAILURE_TYPES.budget, message: grant.refused } });
        sync();
        continue;
      }
      const itemBudget = grant ? { budget: grant } : {};
      // An item with a workspace of its own carries it to its run (plain strings start exactly as before).
      const item = inputs[index];
      const own = typeof item === 'string' ? { input: item } : { input: item.input, workspace: item.workspace };
      await runChild(
        state.children,
        { ...record, ...itemBudget },
        {
          agent: input.agent,
          ...own,
          context: input.context,
          maxTurns: input.maxTurns,
          tenant: input.tenant,
          parent,
          ...itemBudget,
        },
        sync,
      );
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, slot));
  } catch (err) {
    state.status = isCancellation(err) && CancellationScope.current().consideredCancelled ? 'cancelled' : 'failed';
    sync();
    throw err;
  }
  state.status = 'completed';
  sync();
  const items = state.children.map((c) => c as ChildRun & { index: number }) as FanOutItemResult[];
  const failed = items.filter((i) => i.status !== 'completed').length;
  return {
    runId: workflowId,
    agent: input.agent,
    items,
    completed: items.length - failed,
    failed,
    usage: childUsage(state.children),
  };
}

function checkedBudget(budget: Budget): Budget {
  const problem = budgetProblem(budget, 'the start option budget');
  if (problem) throw keelFailure('BadInput', problem);
  return budget;
}

/**
 * An item's share of the job's budget: of what neither ended items spent nor running items hold, an equal part
 * per free slot. An item whose share is nothing is not started under `onExceed: 'fail'`; under `'ask'` it starts
 * and asks at once.
 */
function itemGrant(budget: Budget, children: ChildRun[], concurrency: number): Budget | { refused: string } {
  const spent = spendOf(childUsage(children));
  const running = children.filter((c) => c.status === 'running').length;
  const grant = childGrant(budget, spent, children, concurrency - running);
  if (budget.onExceed === 'fail' && overBudget(grant, { tokens: 0 }) && budgetsOn())
    return { refused: `not started: nothing is left of the job's budget (${spendText(spent, budget)})` };
  return grant;
}
