/**
 * Function tools: `tool({ execute })` of the agent or its capabilities, run in the worker (Node APIs allowed)
 * between the guardrails the run pinned; the output is scrubbed and capped.
 */
import { Context } from '@temporalio/activity';
import type { Agent } from '../../agents/agent.js';
import { approvalSpecOf } from '../../agents/approval.js';
import type { FunctionTool } from '../../agents/tool.js';
import type { RunToolInput, RunToolResult } from '../../activities/types.js';
import { guardedCall, parseToolArguments, toolChecks } from '../call.js';
import { functionToolsOf, jsonSchema } from '../definitions.js';
import { errorResult, finishOutput, stringifyOutput } from '../output.js';
import type { ToolKindDef } from './kind.js';

const DEFAULT_TOOL_TIMEOUT_MS = 5 * 60_000;

async function executeFunctionTool(tool: FunctionTool, input: RunToolInput, args: string): Promise<RunToolResult> {
  const parsed = parseToolArguments(tool.name, tool.parameters, args);
  if (!parsed.ok) return parsed.result;
  try {
    const value = await tool.execute(parsed.data, {
      workflowId: input.workflowId,
      agent: input.agent,
      callId: input.call.callId,
      context: input.context,
      signal: Context.current().cancellationSignal,
    });
    return { output: stringifyOutput(value), isError: false, guardrails: [] };
  } catch (err) {
    return errorResult(`Error: ${tool.name} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const functionTool = (agent: Agent, name: string) => functionToolsOf(agent).find((t) => t.name === name);

export const functionKind: ToolKindDef<'function'> = {
  specs: (agent) =>
    functionToolsOf(agent).map((t) => ({
      name: t.name,
      description: t.description,
      parameters: jsonSchema(t.parameters),
      kind: 'function',
      approval: approvalSpecOf(t.needsApproval as never),
      timeoutMs: t.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
      guardrails: {
        input: (t.inputGuardrails ?? []).map((g) => g.name),
        output: (t.outputGuardrails ?? []).map((g) => g.name),
      },
    })),
  approval: (agent, input) => functionTool(agent, input.tool)?.needsApproval as never,
  async run(input, deps) {
    const tool = functionTool(deps.registry.get(input.agent), input.call.name);
    if (!tool) return errorResult(`Error: there is no tool named '${input.call.name}'.`);
    const result = await guardedCall(
      input,
      toolChecks(input, { input: tool.inputGuardrails ?? [], output: tool.outputGuardrails ?? [] }),
      (args) => executeFunctionTool(tool, input, args),
    );
    return { ...result, output: await finishOutput(result.output, deps, deps.maxToolOutputBytes) };
  },
  describe: () => 'a function tool',
};
