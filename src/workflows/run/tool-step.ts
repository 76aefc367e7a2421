/**
 * The tool half of a turn: each call is checked (unknown tool, approval), free calls run at once and concurrently,
 * calls awaiting approval run once decided, and results land in call order with their guardrail items.
 */
import { patched } from '@temporalio/workflow';
import type { ToolSpec } from '../../agents/spec.js';
import type { RunToolResult } from '../../activities/types.js';
import { localTools, tools } from '../activities.js';
import { decisionFor, rejectionText } from '../approvals.js';
import { argumentsDigest } from '../call-binding.js';
import type { ToolCallItem, ToolResultItem } from '../run-state.js';
import { runAgentTool } from './agent-tool.js';
import { awaitDecisions, needsApproval } from './approval-wait.js';
import { toolSummary } from '../summaries.js';
import { fail, FAILURE_TYPES, nowIso, type Run } from './run.js';

/** Patch: the safety valve counts turns in which every call failed, not failed calls. */
export const VALVE_COUNTS_TURNS = 'keel-valve-counts-turns';

type Results = Map<string, RunToolResult>;

/** Runs one turn's tool calls and appends their results in call order. */
export async function runCalls(run: Run, calls: ToolCallItem[]): Promise<void> {
  // Runs recorded before the valve counted turns counted each failed call, in the order results landed. Asked
  // before any tool runs: a patch first evaluated right after a local activity did not replay (docs/performance.md).
  const perTurn = patched(VALVE_COUNTS_TURNS);
  const results: Results = new Map();
  const { asked, free } = await triage(run, calls, results);
  await Promise.all([
    ...free.map(async ({ tool, call }) => results.set(call.callId, await execute(run, tool, call))),
    asked.length ? runOnceDecided(run, asked, results) : Promise.resolve(),
  ]);
  for (const call of calls) recordResult(run, call, results.get(call.callId)!, !perTurn);
  if (perTurn) judgeTurn(run, calls, results);
}

/** Sorts calls into unknown (answered at once), awaiting approval (recorded as pending) and free to run. */
async function triage(run: Run, calls: ToolCallItem[], results: Results) {
  const { spec, state } = run;
  const asked: ToolCallItem[] = [];
  const free: { tool: ToolSpec; call: ToolCallItem }[] = [];
  for (const call of calls) {
    const tool = spec.tools.find((t) => t.name === call.name && t.kind !== 'handoff');
    if (!tool) {
      const known = spec.tools.map((t) => t.name).join(', ');
      results.set(call.callId, { output: `Error: there is no tool named '${call.name}'. Available tools: ${known}.`, isError: true, guardrails: [] });
    } else if (await needsApproval(run, tool, call)) {
      asked.push(call);
      state.pendingApprovals.push({ callId: call.callId, tool: call.name, arguments: call.arguments, agent: spec.name, requestedAt: nowIso(), argsHash: argumentsDigest(call.arguments) });
    } else {
      free.push({ tool, call });
    }
  }
  return { asked, free };
}

async function runOnceDecided(run: Run, asked: ToolCallItem[], results: Results): Promise<void> {
  await awaitDecisions(run, asked);
  await Promise.all(
    asked.map(async (call) => {
      const decision = decisionFor(run.state, call)!;
      if (decision.decision === 'approve') return results.set(call.callId, await execute(run, run.spec.tools.find((t) => t.name === call.name)!, call));
      results.set(call.callId, { output: rejectionText(run.spec, decision), isError: false, guardrails: [] });
    }),
  );
}

/** Runs one call where its kind runs: sandbox tools on the container's host, function tools on the shared queue, agent tools as child runs. */
async function execute(run: Run, tool: ToolSpec, call: ToolCallItem): Promise<RunToolResult> {
  const { spec, state } = run;
  const decided = decisionFor(state, call); // a standing reject answers here; an approval was checked before
  if (decided?.decision === 'reject') return { output: rejectionText(spec, decided), isError: false, guardrails: [] };
  if (tool.kind === 'agent') return runAgentTool(run, tool, call);
  const base = { agent: spec.name, workflowId: run.workflowId, call, context: state.context };
  if (tool.kind === 'sandbox') return run.sandbox.runTool({ ...base, guardrails: tool.guardrails, sandboxSpec: spec.sandbox }, tool);
  // MCP servers inside the sandbox are called on its host, in turn with its other tools.
  if (tool.mcp?.inSandbox) return run.sandbox.runTool({ ...base, guardrails: tool.guardrails, sandboxSpec: spec.sandbox, mcp: tool.mcp }, tool);
  const proxy = spec.toolExecution === 'local' ? localTools(tool.timeoutMs) : tools({ startToCloseTimeout: tool.timeoutMs });
  // MCP tools carry their pin, so the activity refuses a tool the server changed since the run resolved it.
  return proxy.runTool.executeWithOptions({ summary: toolSummary(call) }, [{ ...base, guardrails: tool.guardrails, ...(tool.mcp ? { mcp: tool.mcp } : {}) }]);
}

/** Appends a call's guardrail items and result; trips the run on a tool guardrail (and, in old runs, on too many failed calls). */
function recordResult(run: Run, call: ToolCallItem, r: RunToolResult, countCalls: boolean): void {
  const { spec, state } = run;
  state.items.push(...r.guardrails);
  const item: ToolResultItem = { type: 'tool_result', callId: call.callId, name: call.name, output: r.output, isError: r.isError, ...(r.blob ? { blob: r.blob } : {}), ...(r.image ? { image: r.image } : {}) };
  state.items.push(item);
  if (r.tripwire) fail(run, FAILURE_TYPES.tool, `tool guardrail ${r.tripwire.name} tripped on ${call.name}: ${JSON.stringify(r.tripwire.info ?? null)}`);
  if (!countCalls) return;
  state.consecutiveToolFailures = r.isError ? state.consecutiveToolFailures + 1 : 0;
  if (state.consecutiveToolFailures >= spec.maxConsecutiveToolFailures) {
    fail(run, FAILURE_TYPES.toolFailures, `${state.consecutiveToolFailures} consecutive tool calls failed; last: ${call.name}: ${r.output.slice(0, 300)}`);
  }
}

/**
 * The safety valve, judged once per turn with every result recorded: a turn in which every call failed adds one,
 * any success resets, and `maxConsecutiveToolFailures` such turns in a row fail the run. So a parallel batch is
 * judged as a whole and the model always sees all its errors.
 */
function judgeTurn(run: Run, calls: ToolCallItem[], results: Results): void {
  const { spec, state } = run;
  const failed = calls.filter((c) => results.get(c.callId)!.isError);
  state.consecutiveToolFailures = calls.length > 0 && failed.length === calls.length ? state.consecutiveToolFailures + 1 : 0;
  if (state.consecutiveToolFailures < spec.maxConsecutiveToolFailures) return;
  const last = failed[failed.length - 1];
  fail(run, FAILURE_TYPES.toolFailures, `${state.consecutiveToolFailures} turns in a row in which every tool call failed; last: ${last.name}: ${results.get(last.callId)!.output.slice(0, 300)}`);
}
