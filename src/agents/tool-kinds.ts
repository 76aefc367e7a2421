/**
 * Tool kinds beyond function and sandbox tools, as the registry resolves them into an AgentSpec: MCP servers'
 * tools (listed from the servers at resolution, pinned with hashes), hosted tools (Responses API only), and the
 * checks every resolved spec passes (one name per tool, a `toolChoice` that names a tool).
 */
import { KeelError } from '../errors.js';
import type { StartedSandbox } from '../sandbox/types.js';
import { SandboxAgent, type Agent } from './agent.js';
import { approvalSpecOf } from './approval.js';
import { hostedApprovalToolName, isHostedTool, type HostedTool, type HostedToolConfig } from './hosted-tools.js';
import { filterAllows, modelToolName, type McpServer, type McpToolDef, type McpToolLister } from './mcp.js';
import type { ToolSpec } from './spec.js';
import type { FunctionTool } from './tool.js';

const DEFAULT_MCP_TIMEOUT_MS = 60_000;

/** The agent's function tools: its own (hosted tools left out) and its capabilities'. */
export function functionToolsOf(agent: Agent): FunctionTool[] {
  const own = (agent.options.tools ?? []).filter((t): t is FunctionTool => t.kind === 'function');
  return [...own, ...(agent.options.capabilities ?? []).flatMap((c) => c.tools ?? [])];
}

export function hostedToolsOf(agent: Agent): HostedTool[] {
  return (agent.options.tools ?? []).filter(isHostedTool);
}

export function hostedMcpOf(agent: Agent, serverLabel: string): HostedTool | undefined {
  return hostedToolsOf(agent).find((t) => t.config.type === 'mcp' && t.config.server_label === serverLabel);
}

export function mcpServerOf(agent: Agent, name: string): McpServer | undefined {
  return (agent.options.mcpServers ?? []).find((s) => s.name === name);
}

/** Whether `server` runs inside the agent's sandbox (stdio servers only). */
export function inSandbox(server: McpServer): boolean {
  return server.transport === 'stdio' && server.inSandbox === true;
}

/** One server's tools as the spec pins them (filtered, named for the model, with their definitions' hashes). */
function serverToolSpecs(server: McpServer, tools: McpToolDef[]): ToolSpec[] {
  return tools.filter((t) => filterAllows(server.toolFilter, t)).map((t) => ({
    name: modelToolName(server, t.name),
    description: t.description || `${t.name} (MCP server ${server.name})`,
    parameters: t.inputSchema,
    kind: 'mcp',
    approval: approvalSpecOf(server.needsApproval as never),
    timeoutMs: (server.timeoutMs ?? DEFAULT_MCP_TIMEOUT_MS) + 5_000,
    guardrails: { input: (server.inputGuardrails ?? []).map((g) => g.name), output: (server.outputGuardrails ?? []).map((g) => g.name) },
    mcp: { server: server.name, tool: t.name, hash: t.hash, ...(inSandbox(server) ? { inSandbox: true as const } : {}) },
  }));
}

/**
 * Tool specs of the agent's MCP servers that run on the worker, listed fresh (this is the pinned list). Servers
 * inside the sandbox are only checked here; sandboxMcpToolSpecs lists them once the sandbox exists.
 */
export async function mcpToolSpecs(agent: Agent, connections: McpToolLister): Promise<ToolSpec[]> {
  const names = new Set<string>();
  const specs: ToolSpec[] = [];
  for (const server of agent.options.mcpServers ?? []) {
    if (names.has(server.name)) throw new KeelError('bad_usage', `agent '${agent.name}' has two MCP servers named '${server.name}'`);
    names.add(server.name);
    if (inSandbox(server)) {
      if (!(agent instanceof SandboxAgent)) {
        throw new KeelError('bad_usage', `agent '${agent.name}': MCP server '${server.name}' has inSandbox: true, but the agent has no sandbox (use a SandboxAgent)`);
      }
      continue;
    }
    specs.push(...serverToolSpecs(server, await connections.tools(agent.name, server, { fresh: true })));
  }
  return specs;
}

/** Names of the agent's MCP servers that run inside its sandbox. */
export function sandboxMcpServersOf(agent: Agent): string[] {
  return (agent.options.mcpServers ?? []).filter(inSandbox).map((s) => s.name);
}

/** Tool specs of the agent's in-sandbox MCP servers, listed fresh from the servers running in `sandbox`. */
export async function sandboxMcpToolSpecs(agent: Agent, connections: McpToolLister, sandbox: StartedSandbox): Promise<ToolSpec[]> {
  const specs: ToolSpec[] = [];
  for (const server of (agent.options.mcpServers ?? []).filter(inSandbox)) {
    specs.push(...serverToolSpecs(server, await connections.tools(agent.name, server, { fresh: true, sandbox })));
  }
  return specs;
}

/** The hosted tools as the API takes them (no headers), and one approval pseudo-tool per hosted MCP server. */
export function hostedSpecs(agent: Agent, modelApi: 'responses' | 'chat'): { configs: HostedToolConfig[]; approvals: ToolSpec[] } {
  const hosted = hostedToolsOf(agent);
  if (hosted.length && modelApi === 'chat') {
    const types = hosted.map((h) => h.config.type).join(', ');
    throw new KeelError('bad_usage', `agent '${agent.name}' has hosted tools (${types}), which only the Responses API runs; this worker uses the Chat Completions API`);
  }
  const approvals = hosted.flatMap((h): ToolSpec[] => {
    if (h.config.type !== 'mcp') return [];
    return [{
      name: hostedApprovalToolName(h.config.server_label),
      description: `approval requests of hosted MCP server ${h.config.server_label}`,
      parameters: { type: 'object' },
      kind: 'hosted_mcp',
      approval: approvalSpecOf((h.needsApproval ?? true) as never),
      timeoutMs: 60_000,
      guardrails: { input: [], output: [] },
      hosted: { serverLabel: h.config.server_label },
    }];
  });
  return { configs: hosted.map((h) => h.config), approvals };
}

const ORIGIN: Record<ToolSpec['kind'], string> = {
  function: 'a function tool',
  sandbox: 'a sandbox tool',
  handoff: 'a handoff',
  agent: 'an agent tool',
  mcp: 'MCP server',
  hosted_mcp: 'hosted MCP server',
};

function origin(t: ToolSpec): string {
  if (t.mcp) return `MCP server '${t.mcp.server}' (its tool '${t.mcp.tool}')`;
  if (t.hosted) return `hosted MCP server '${t.hosted.serverLabel}'`;
  return ORIGIN[t.kind];
}

/** One clear error when two tools would reach the model under one name. */
export function checkToolNames(agent: string, tools: ToolSpec[]): void {
  const seen = new Map<string, ToolSpec>();
  for (const t of tools) {
    const first = seen.get(t.name);
    if (first) {
      throw new KeelError(
        'bad_usage',
        `agent '${agent}': two tools are named '${t.name}': ${origin(first)} and ${origin(t)}. Rename one, or give the MCP server a toolNamePrefix or toolFilter`,
      );
    }
    seen.set(t.name, t);
  }
}

const HOSTED_CHOICE_TYPES = ['web_search', 'file_search', 'code_interpreter', 'image_generation'];

/** A `toolChoice` naming one tool must name one the agent has. */
export function checkToolChoice(agent: string, choice: string | undefined, tools: ToolSpec[], hosted: HostedToolConfig[]): void {
  if (choice === undefined || choice === 'auto' || choice === 'required' || choice === 'none') return;
  if (tools.some((t) => t.name === choice && t.kind !== 'hosted_mcp')) return;
  if (HOSTED_CHOICE_TYPES.includes(choice) && hosted.some((h) => h.type === choice)) return;
  throw new KeelError('bad_usage', `agent '${agent}': modelSettings.toolChoice names '${choice}', which is not one of its tools`);
}
