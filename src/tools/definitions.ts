/**
 * Where an agent definition holds its tools, by kind: lookups over `Agent` that spec builders (tools/kinds/) and
 * handlers share, and that the registry (tools/registry.ts) offers to activities by agent name.
 */
import { z } from 'zod';
import { Agent } from '../agents/agent.js';
import type { AgentTool } from '../agents/agent.js';
import type { Capability, SandboxTool } from '../agents/capabilities.js';
import type { ToolGuardrail } from '../agents/guardrails.js';
import { handoff as plainHandoff, type Handoff } from '../agents/handoff.js';
import { hostedApprovalToolName, isHostedTool, type HostedTool } from '../agents/hosted-tools.js';
import { inSandbox, modelToolName, type McpServer, type McpToolLister } from '../agents/mcp.js';
import type { FunctionTool } from '../agents/tool.js';

/** A zod schema as the JSON Schema a spec pins (draft 7, input side, no `$schema`). */
export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<
    string,
    unknown
  >;
  return rest;
}

/** The agent's function tools: its own (hosted tools left out) and its capabilities'. */
export function functionToolsOf(agent: Agent): FunctionTool[] {
  const own = (agent.options.tools ?? []).filter((t): t is FunctionTool => t.kind === 'function');
  return [...own, ...(agent.options.capabilities ?? []).flatMap((c) => c.tools ?? [])];
}

export function agentToolsOf(agent: Agent): AgentTool[] {
  return (agent.options.tools ?? []).filter((t): t is AgentTool => t.kind === 'agent');
}

/** The agent's handoffs, each as a `Handoff` (a plain agent or name is one without options). */
export function handoffsOf(agent: Agent): Handoff[] {
  return (agent.options.handoffs ?? []).map((h) => (typeof h === 'string' || h instanceof Agent ? plainHandoff(h) : h));
}

export function handoffToolName(agent: string): string {
  return `transfer_to_${agent}`;
}

export function hostedToolsOf(agent: Agent): HostedTool[] {
  return (agent.options.tools ?? []).filter(isHostedTool);
}

export function hostedMcpOf(agent: Agent, serverLabel: string): HostedTool | undefined {
  return hostedToolsOf(agent).find((t) => t.config.type === 'mcp' && t.config.server_label === serverLabel);
}

/** The hosted MCP server whose approval requests go by `toolName` (see hostedApprovalToolName). */
export function hostedMcpByToolName(agent: Agent, toolName: string): HostedTool | undefined {
  return hostedToolsOf(agent).find(
    (h) => h.config.type === 'mcp' && hostedApprovalToolName(h.config.server_label) === toolName,
  );
}

export function mcpServerOf(agent: Agent, name: string): McpServer | undefined {
  return (agent.options.mcpServers ?? []).find((s) => s.name === name);
}

/** Names of the agent's MCP servers that run inside its sandbox. */
export function sandboxMcpServersOf(agent: Agent): string[] {
  return (agent.options.mcpServers ?? []).filter(inSandbox).map((s) => s.name);
}

/** The MCP server offering `toolName` (the model's name for it) by its cached tool list, with the server's own name for the tool. */
export async function mcpToolByName(
  agent: Agent,
  toolName: string,
  mcp: McpToolLister,
): Promise<{ server: McpServer; tool: string } | undefined> {
  for (const server of agent.options.mcpServers ?? []) {
    if (inSandbox(server)) continue; // listed only with its sandbox; calls carry their pin
    const tools = await mcp.tools(agent.name, server).catch(() => []);
    const found = tools.find((t) => modelToolName(server, t.name) === toolName);
    if (found) return { server, tool: found.name };
  }
  return undefined;
}

/** A sandbox tool implemented by one of the agent's capabilities, with that capability. */
export function capabilitySandboxTool(
  agent: Agent,
  toolName: string,
): { tool: SandboxTool; capability: Capability } | undefined {
  for (const capability of agent.options.capabilities ?? []) {
    const tool = capability.sandboxTools?.find((t): t is SandboxTool => typeof t !== 'string' && t.name === toolName);
    if (tool) return { tool, capability };
  }
  return undefined;
}

/** The approval setting the agent's capabilities give sandbox tool `toolName` (the first that sets one). */
export function sandboxApprovalOf(agent: Agent, toolName: string) {
  for (const c of agent.options.capabilities ?? []) {
    const setting = c.approvals?.[toolName as never];
    if (setting !== undefined) return setting;
  }
  return undefined;
}

/** The guardrails of the capability that contributes sandbox tool `toolName`. */
export function sandboxToolGuardrailsOf(
  agent: Agent,
  toolName: string,
): { input: ToolGuardrail[]; output: ToolGuardrail[] } {
  const owner = (agent.options.capabilities ?? []).find((c) =>
    (c.sandboxTools ?? []).some((t) => (typeof t === 'string' ? t : t.name) === toolName),
  );
  return { input: owner?.toolGuardrails?.input ?? [], output: owner?.toolGuardrails?.output ?? [] };
}
