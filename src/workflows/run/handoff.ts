/**
 * A handoff: the named agent takes over the run (its spec resolved and pinned), recorded as an item; extra
 * handoffs in the same turn are answered with an error.
 */
import type { ToolCallItem } from '../run-state.js';
import { resolveAgent, setStatus, type Run } from './run.js';

export function handoffCalls(run: Run, calls: ToolCallItem[]): ToolCallItem[] {
  return calls.filter((c) => run.spec.tools.some((t) => t.kind === 'handoff' && t.name === c.name));
}

export async function handoff(run: Run, call: ToolCallItem, others: ToolCallItem[]): Promise<void> {
  const { state } = run;
  const target = run.spec.handoffs.find((h) => h.toolName === call.name)!;
  const from = run.spec.name;
  run.spec = await resolveAgent(run, target.agent);
  state.agent = run.spec.name;
  await run.sandbox.ensure(run.spec);
  state.items.push({ type: 'handoff', callId: call.callId, from, to: run.spec.name, version: run.spec.version });
  state.items.push({ type: 'tool_result', callId: call.callId, name: call.name, output: JSON.stringify({ assistant: run.spec.name }), isError: false });
  for (const extra of others) {
    state.items.push({ type: 'tool_result', callId: extra.callId, name: extra.name, output: 'Error: only one handoff per turn is taken; this one was ignored.', isError: true });
  }
  setStatus(run, 'running');
}
