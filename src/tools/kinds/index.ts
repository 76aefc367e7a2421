/**
 * The one table of tool kinds: each kind's spec builder, approval rule, `runTool` handler and description, one
 * file each beside this one. The worker dispatches `runTool` and `checkApproval` by the kind the call carries;
 * workflow code routes by TOOL_ROUTES (agents/spec.ts). A new kind is a new file here, an entry in this table and
 * one in TOOL_ROUTES (docs/tools.md, "Adding a tool kind").
 */
import type { McpToolPin, ToolKind, ToolSpec } from '../../agents/spec.js';
import type { CheckApprovalInput, RunToolInput, RunToolResult } from '../../activities/types.js';
import {
  agentToolsOf,
  functionToolsOf,
  hostedMcpByToolName,
  mcpToolByName,
  sandboxApprovalOf,
} from '../definitions.js';
import { errorResult } from '../output.js';
import { agentKind } from './agent.js';
import { functionKind } from './function.js';
import { handoffKind } from './handoff.js';
import { hostedMcpKind } from './hosted-mcp.js';
import type { ApprovalSettingOf, SandboxHost, ToolDeps, ToolKindDef } from './kind.js';
import { mcpKind } from './mcp.js';
import { sandboxKind } from './sandbox.js';

/** In the order a resolved spec lists its tools: changing it changes every agent's version hash. */
export const TOOL_KINDS = {
  function: functionKind,
  agent: agentKind,
  sandbox: sandboxKind,
  mcp: mcpKind,
  hosted_mcp: hostedMcpKind,
  handoff: handoffKind,
} satisfies { [K in ToolKind]: ToolKindDef<K> };

/** Where `tool` comes from, in one phrase (its kind's `describe`). */
export function describeTool(tool: ToolSpec): string {
  return (TOOL_KINDS[tool.kind].describe as (tool: ToolSpec) => string)(tool);
}

/**
 * The kind of a call whose input has none: an activity task scheduled by workflow code older than
 * `RunToolInput.kind` (and retried, or picked up, by this worker). The guessing those workers did, kept in this one
 * place: by the call's pin and sandbox, then by name in the order of the old `checkApproval` chain. (The old
 * `runTool` asked for a function tool before the pin; the two differ only where a deploy added a function tool
 * under a pinned MCP tool's name, and there the pin is right.) It can go when no run that was open before this
 * release is still open: the rule for deprecating a patch (docs/patches.md).
 */
export async function legacyKind(
  input: { agent: string; name: string; sandbox?: unknown; mcp?: McpToolPin },
  deps: Pick<ToolDeps, 'registry' | 'mcp'>,
): Promise<ToolKind> {
  if (input.mcp) return 'mcp';
  if (input.sandbox) return 'sandbox';
  const agent = deps.registry.get(input.agent);
  if (functionToolsOf(agent).some((t) => t.name === input.name)) return 'function';
  if (agentToolsOf(agent).some((t) => t.name === input.name)) return 'agent';
  if (sandboxApprovalOf(agent, input.name) !== undefined) return 'sandbox';
  if (hostedMcpByToolName(agent, input.name)) return 'hosted_mcp';
  if (await mcpToolByName(agent, input.name, deps.mcp)) return 'mcp';
  return 'function'; // which answers that there is no such tool
}

function isKind(kind: string): kind is ToolKind {
  return Object.hasOwn(TOOL_KINDS, kind);
}

/** `runTool` by the call's kind; `host` is the attached sandbox when the call came to the sandbox's host. */
export async function runToolByKind(input: RunToolInput, deps: ToolDeps, host?: SandboxHost): Promise<RunToolResult> {
  const kind = input.kind ?? (await legacyKind({ ...input, name: input.call.name }, deps));
  if (!isKind(kind)) {
    return errorResult(`Error: ${input.call.name} has a tool kind this worker does not know ('${String(kind)}').`);
  }
  return TOOL_KINDS[kind].run(input, deps, host);
}

/** The approval setting of the call's tool, by its kind (a function is then run by `checkApproval`). */
export async function approvalSettingByKind(input: CheckApprovalInput, deps: ToolDeps): Promise<ApprovalSettingOf> {
  const kind = input.kind ?? (await legacyKind({ ...input, name: input.tool }, deps));
  if (!isKind(kind)) return true; // unknown to this worker: asking a human costs nothing
  return TOOL_KINDS[kind].approval(deps.registry.get(input.agent), input, deps);
}
