/**
 * The tool half of a turn: each call is checked (unknown tool, approval), free calls run at once and concurrently,
 * calls awaiting approval run once decided, and results land in call order with their guardrail items.
 */
import { patched } from '@temporalio/workflow';
import { callPins, toolRoute, type ToolSpec, type ToolSpecOf } from '../../agents/spec.js';
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
    // Handoffs (route `none`) are the turn's to take (handoff.ts), not calls to run.
    const tool = spec.tools.find((t) => t.name === call.name && toolRoute(t) !== 'none');
    if (!tool) {
      const known = spec.tools.map((t) => t.name).join(', ');
      results.set(call.callId, {
        output: `Error: there is no tool named '${call.name}'. Available tools: ${known}.`,
        isError: true,
        guardrails: [],
      });
    } else if (await needsApproval(run, tool, call)) {
      asked.push(call);
      state.pendingApprovals.push({
        callId: call.callId,
        tool: call.name,
        arguments: call.arguments,
        agent: spec.name,
        requestedAt: nowIso(),
        argsHash: argumentsDigest(call.arguments),
      });
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
      if (decision.decision === 'approve')
        return results.set(
          call.callId,
          await execute(
            run,
            run.spec.tools.find((t) => t.name === call.name)!,
            call,
          ),
        );
      results.set(call.callId, { output: rejectionText(run.spec, decision), isError: false, guardrails: [] });
    }),
  );
}

/** Runs one call where its kind routes it (TOOL_ROUTES): the worker's queue, the sandbox's host, or a child run. */
async function execute(run: Run, tool: ToolSpec, call: ToolCallItem): Promise<RunToolResult> {
  const { spec, state } = run;
  const decided = decisionFor(state, call); // a standing reject answers here; an approval was checked before
  if (decided?.decision === 'reject') return { output: rejectionText(spec, decided), isError: false, guardrails: [] };
  const route = toolRoute(tool);
  if (route === 'child') return runAgentTool(run, tool as ToolSpecOf<'agent'>, call); // the one kind routed to a child
  // The kind and the pins go with the call, so the worker runs it by its kind and refuses an MCP tool that changed.
  const input = {
    agent: spec.name,
    workflowId: run.workflowId,
    call,
    context: state.context,
    kind: tool.kind,
    guardrails: tool.guardrails,
    ...callPins(tool),
  };
  if (route === 'sandbox') return run.sandbox.runTool({ ...input, sandboxSpec: spec.sandbox }, tool);
  if (route !== 'worker')
    return { output: `Error: ${call.name} is not a tool that runs.`, isError: true, guardrails: [] };
  const proxy =
    spec.toolExecution === 'local' ? localTools(tool.timeoutMs) : tools({ startToCloseTimeout: tool.timeoutMs });
  return proxy.runTool.executeWithOptions({ summary: toolSummary(call) }, [input]);
}

/** Appends a call's guardrail items and result; trips the run on a tool guardrail (and, in old runs, on too many failed calls). */
function recordResult(run: Run, call: ToolCallItem, r: RunToolResult, countCalls: boolean): void {
  const { spec, state } = run;
  state.items.push(...r.guardrails);
  const item: ToolResultItem = {
    type: 'tool_result',
    callId: call.callId,
    name: call.name,
    output: r.output,
    isError: r.isError,
    ...(r.blob ? { blob: r.blob } : {}),
    ...(r.image ? { image: r.image } : {}),
  };
  state.items.push(item);
  if (r.tripwire)
    fail(
      run,
      FAILURE_TYPES.tool,
      `tool guardrail ${r.tripwire.name} tripped on ${call.name}: ${JSON.stringify(r.tripwire.info ?? null)}`,
    );
  if (!countCalls) return;
  state.consecutiveToolFailures = r.isError ? state.consecutiveToolFailures + 1 : 0;
  if (state.consecutiveToolFailures >= spec.maxConsecutiveToolFailures) {
    fail(
      run,
      FAILURE_TYPES.toolFailures,
      `${state.consecutiveToolFailures} consecutive tool calls failed; last: ${call.name}: ${r.output.slice(0, 300)}`,
    );
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
  state.consecutiveToolFailures =
    calls.length > 0 && failed.length === calls.length ? state.consecutiveToolFailures + 1 : 0;
  if (state.consecutiveToolFailures < spec.maxConsecutiveToolFailures) return;
  const last = failed[failed.length - 1];
  fail(
    run,
    FAILURE_TYPES.toolFailures,
    `${state.consecutiveToolFailures} turns in a row in which every tool call failed; last: ${last.name}: ${results.get(last.callId)!.output.slice(0, 300)}`,
  );
}
