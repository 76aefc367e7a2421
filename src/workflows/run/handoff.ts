/**
 * A handoff: the named agent takes over the run (its spec resolved and pinned), recorded as an item; extra
 * handoffs in the same turn are answered with an error. A handoff with options (typed input, `onHandoff`, input
 * filter) first runs them in the `prepareHandoff` activity.
 */
import type { HandoffSpec } from '../../agents/spec.js';
import { quick } from '../activities.js';
import type { ToolCallItem, ToolResultItem } from '../run-state.js';
import { conversation, enterSandbox, resolveAgent, setStatus, type Run } from './run.js';

const IGNORED = 'Error: only one handoff per turn is taken; this one was ignored.';

export function handoffCalls(run: Run, calls: ToolCallItem[]): ToolCallItem[] {
  return calls.filter((c) => run.spec.tools.some((t) => t.kind === 'handoff' && t.name === c.name));
}

export async function handoff(run: Run, call: ToolCallItem, others: ToolCallItem[]): Promise<void> {
  const { state } = run;
  const target = run.spec.handoffs.find((h) => h.toolName === call.name)!;
  if (target.prepare) return preparedHandoff(run, target, call, others);
  const from = run.spec.name;
  run.spec = await resolveAgent(run, target.agent);
  state.agent = run.spec.name;
  await enterSandbox(run);
  state.items.push({ type: 'handoff', callId: call.callId, from, to: run.spec.name, version: run.spec.version });
  state.items.push({
    type: 'tool_result',
    callId: call.callId,
    name: call.name,
    output: JSON.stringify({ assistant: run.spec.name }),
    isError: false,
  });
  for (const extra of others) {
    state.items.push({ type: 'tool_result', callId: extra.callId, name: extra.name, output: IGNORED, isError: true });
  }
  setStatus(run, 'running');
}

/** Input validated and `onHandoff` run by an activity; with an input filter, the next agent sees only what it keeps. */
async function preparedHandoff(
  run: Run,
  target: HandoffSpec,
  call: ToolCallItem,
  others: ToolCallItem[],
): Promise<void> {
  const { state } = run;
  const from = run.spec.name;
  const results: ToolResultItem[] = [
    {
      type: 'tool_result',
      callId: call.callId,
      name: call.name,
      output: JSON.stringify({ assistant: target.agent }),
      isError: false,
    },
    ...others.map((extra): ToolResultItem => ({
      type: 'tool_result',
      callId: extra.callId,
      name: extra.name,
      output: IGNORED,
      isError: true,
    })),
  ];
  // The filter sees the history as it will be after the handoff's own results, so it drops calls and results together.
  const history = target.prepare!.filter
    ? { ...conversation(run), delta: [...conversation(run).delta, ...results] }
    : undefined;
  const prepared = await quick.prepareHandoff.executeWithOptions({ summary: `handoff ${from} → ${target.agent}` }, [
    {
      agent: from,
      toolName: call.name,
      workflowId: run.workflowId,
      callId: call.callId,
      arguments: call.arguments,
      context: state.context,
      history,
    },
  ]);
  if (!prepared.ok) {
    state.items.push({ ...results[0], output: prepared.error, isError: true }, ...results.slice(1));
    return;
  }
  run.spec = await resolveAgent(run, target.agent);
  state.agent = run.spec.name;
  await enterSandbox(run);
  if (prepared.items) {
    state.items = prepared.items; // the filter saw the whole conversation, archived items included
    if (state.archivedItems) state.archivedItems = undefined;
    run.cursor = { length: 0 };
  } else {
    state.items.push(...results);
  }
  const filtered = prepared.filteredBlob ? { filteredBlob: prepared.filteredBlob } : {};
  state.items.push({
    type: 'handoff',
    callId: call.callId,
    from,
    to: run.spec.name,
    version: run.spec.version,
    ...filtered,
  });
  setStatus(run, 'running');
}
