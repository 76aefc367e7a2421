/**
 * Sandbox tools that capabilities implement themselves (see `sandboxTool` in agents/capabilities.ts): arguments
 * validated against the tool's schema, then its `execute` against the run's container, with the data its
 * capability's `resolve` hook pinned in the AgentSpec.
 */
import type { Capability, SandboxTool } from '../agents/capabilities.js';
import type { StartedSandbox } from '../sandbox/types.js';
import { materializeManifest } from './manifest.js';
import { parseToolArguments } from '../tools/call.js';
import type { RunToolInput, RunToolResult } from './types.js';

export async function runCapabilitySandboxTool(
  sandbox: StartedSandbox,
  input: RunToolInput,
  args: string,
  found: { tool: SandboxTool; capability: Capability },
): Promise<RunToolResult> {
  const { tool, capability } = found;
  const parsed = parseToolArguments(tool.name, tool.parameters, args);
  if (!parsed.ok) return parsed.result;
  const result = await tool.execute(parsed.data, {
    sandbox,
    data: input.sandboxSpec?.capabilityData?.[capability.name],
    agent: input.agent,
    workflowId: input.workflowId,
    callId: input.call.callId,
    materialize: (entries) => materializeManifest(sandbox, { entries }),
  });
  return typeof result === 'string'
    ? { output: result, isError: false, guardrails: [] }
    : { output: result.output, isError: result.isError ?? false, guardrails: [] };
}
