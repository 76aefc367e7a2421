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
import { MAX_FAN_OUT_INPUTS, runStateQuery, type FanOutInput, type FanOutItemResult, type FanOutResult } from './messages.js';
import { initialRunState, type RunState } from './run-state.js';
import { childUsage, type ChildRun } from './tree.js';
import { keelFailure } from '../failures.js';

export async function fanOut(input: FanOutInput): Promise<FanOutResult> {
  const { workflowId } = workflowInfo();
  const inputs = input.inputs ?? [];
  if (inputs.length > MAX_FAN_OUT_INPUTS) {
    throw keelFailure('BadInput', `a fan-out takes at most ${MAX_FAN_OUT_INPUTS} inputs, not ${inputs.length}`);
  }
  const state: RunState = initialRunState({ runId: workflowId, agent: input.agent, input: [], context: input.context, now: new Date().toISOString() });
  if (input.parent) state.parent = input.parent;
  const parent = { runId: workflowId, rootId: input.parent?.rootId ?? workflowId };
  state.children = inputs.map((_, index) => ({ runId: `${workflowId}/${index}`, agent: input.agent, index, status: 'queued' as const }));
  setHandler(runStateQuery, () => state);
  // Its items starting and ending, as events: `keel watch <jobId>` follows the tree from here.
  const events = new EventLog();
  const sync = () => events.sync(state, new Date().toISOString());
  registerEventHandlers(events, () => ({ done: isTerminal(state.status), continuing: false, closing: isTerminal(state.status) }));

  let next = 0;
  const slot = async () => {
    while (next < inputs.length) {
      const index = next++;
      const record = state.children[index];
      // An item with a workspace of its own carries it to its run (plain strings start exactly as before).
      const item = inputs[index];
      const own = typeof item === 'string' ? { input: item } : { input: item.input, workspace: item.workspace };
      await runChild(state.children, record, { agent: input.agent, ...own, context: input.context, maxTurns: input.maxTurns, tenant: input.tenant, parent }, sync);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(Math.max(1, input.concurrency ?? 4), inputs.length) }, slot));
  } catch (err) {
    state.status = isCancellation(err) && CancellationScope.current().consideredCancelled ? 'cancelled' : 'failed';
    sync();
    throw err;
  }
  state.status = 'completed';
  sync();
  const items = state.children.map((c) => c as ChildRun & { index: number }) as FanOutItemResult[];
  const failed = items.filter((i) => i.status !== 'completed').length;
  return { runId: workflowId, agent: input.agent, items, completed: items.length - failed, failed, usage: childUsage(state.children) };
}
