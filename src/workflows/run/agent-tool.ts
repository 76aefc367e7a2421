/**
 * Agent tools inside the parent run: a call of a tool of kind `agent` becomes a child run of the sub-agent with id
 * `<parentId>/<callId>`; its final output is the tool result. Several calls in one turn run concurrently because
 * the turn runs its calls concurrently.
 */
import type { ToolSpecOf } from '../../agents/spec.js';
import type { RunToolResult } from '../../activities/types.js';
import { quick } from '../activities.js';
import { childOutput, runChild, treeUsage } from '../child-runs.js';
import { budgetsOn, childGrant, spendOf } from '../budget.js';
import type { ToolCallItem } from '../run-state.js';
import type { ChildRun } from '../tree.js';
import { syncEvents } from './live.js';
import type { Run } from './run.js';

const errorResult = (output: string): RunToolResult => ({ output, isError: true, guardrails: [] });

/** The sub-agent's input: `{ input }` read here, a user schema validated by an activity. */
async function childInput(
  agent: string,
  tool: ToolSpecOf<'agent'>,
  call: ToolCallItem,
): Promise<{ ok: true; input: string } | { ok: false; error: string }> {
  if (tool.agent.customInput) return quick.agentToolInput({ agent, tool: tool.name, arguments: call.arguments });
  let args: unknown;
  try {
    args = JSON.parse(call.arguments || '{}');
  } catch {
    return {
      ok: false,
      error: `Error: the arguments for ${tool.name} are not valid JSON. Call it again with {"input": "..."}.`,
    };
  }
  const input = (args as { input?: unknown } | null)?.input;
  return typeof input === 'string' && input.trim() !== ''
    ? { ok: true, input }
    : { ok: false, error: `Error: ${tool.name} needs {"input": "<what to ask the ${tool.agent.name} agent>"}` };
}

export async function runAgentTool(run: Run, tool: ToolSpecOf<'agent'>, call: ToolCallItem): Promise<RunToolResult> {
  const { state, workflowId } = run;
  const runId = `${workflowId}/${call.callId}`;
  // A model that repeats a call id must not reach an earlier child (its workflow id is taken).
  if (state.children.some((c) => c.runId === runId))
    return errorResult(`Error: call id ${call.callId} was already used; call ${tool.name} again.`);
  // The child's place in `state.children` is taken in call order: checking a custom input is an activity, and the
  // calls of one turn finish it in any order. The place is given back if the child never starts.
  const slot: ChildRun = { runId, agent: tool.agent.name, callId: call.callId, status: 'queued' };
  state.children.push(slot);
  let input: Awaited<ReturnType<typeof childInput>> | undefined;
  try {
    input = await childInput(run.spec.name, tool, call);
  } finally {
    if (!input?.ok) state.children.splice(state.children.indexOf(slot), 1);
  }
  if (!input.ok) return errorResult(input.error);
  const parent = { runId: workflowId, rootId: state.parent?.rootId ?? workflowId, callId: call.callId };
  // The calls of this turn still queued (this one included) share what is left of the budget.
  const budget =
    state.budget && budgetsOn()
      ? childGrant(
          state.budget,
          spendOf(treeUsage(state)),
          state.children,
          state.children.filter((c) => c.status === 'queued').length,
        )
      : undefined;
  const child = await runChild(
    state.children,
    { ...slot, status: 'running', ...(budget ? { budget } : {}) },
    {
      agent: tool.agent.name,
      input: input.input,
      context: state.context,
      maxTurns: tool.agent.maxTurns,
      parent,
      ...(budget ? { budget } : {}),
    },
    () => syncEvents(run),
  );
  return { ...childOutput(child), guardrails: [] };
}
