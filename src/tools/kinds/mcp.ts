/**
 * MCP tools: listed from the agent's MCP servers at resolution (servers inside the sandbox: once it exists), pinned
 * with their definitions' hashes. A call gets the same argument parsing, guardrails and output capping as function
 * tools, a check that the tool is still the one the run pinned, then `tools/call` on the worker's shared connection
 * (or, for a server inside the sandbox, on its host). Whatever the server does (dies, hangs, errs, answers
 * nonsense) becomes a tool error the model reads.
 */
import { Context } from '@temporalio/activity';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { SandboxAgent, type Agent } from '../../agents/agent.js';
import { approvalSpecOf } from '../../agents/approval.js';
import {
  filterAllows,
  inSandbox,
  modelToolName,
  type McpServer,
  type McpToolDef,
  type McpToolLister,
} from '../../agents/mcp.js';
import type { McpToolPin, ToolSpecOf } from '../../agents/spec.js';
import { KeelError } from '../../errors.js';
import type { McpTarget } from '../../activities/mcp-connections.js';
import type { RunToolInput, RunToolResult } from '../../activities/types.js';
import { detectImage, MAX_IMAGE_BYTES } from '../../sandbox/images.js';
import type { StartedSandbox } from '../../sandbox/types.js';
import type { BlobStore } from '../../storage/blob-store.js';
import { guardedCall, parseToolArguments, toolChecks } from '../call.js';
import { mcpServerOf, mcpToolByName } from '../definitions.js';
import { errorResult, finishOutput } from '../output.js';
import type { ToolDeps, ToolKindDef } from './kind.js';

const DEFAULT_TIMEOUT_MS = 60_000;
const ArgsSchema = z.record(z.string(), z.unknown());

/** One server's tools as the spec pins them (filtered, named for the model, with their definitions' hashes). */
function serverToolSpecs(server: McpServer, tools: McpToolDef[]): ToolSpecOf<'mcp'>[] {
  return tools
    .filter((t) => filterAllows(server.toolFilter, t))
    .map((t) => ({
      name: modelToolName(server, t.name),
      description: t.description || `${t.name} (MCP server ${server.name})`,
      parameters: t.inputSchema,
      kind: 'mcp',
      approval: approvalSpecOf(server.needsApproval as never),
      timeoutMs: (server.timeoutMs ?? DEFAULT_TIMEOUT_MS) + 5_000,
      guardrails: {
        input: (server.inputGuardrails ?? []).map((g) => g.name),
        output: (server.outputGuardrails ?? []).map((g) => g.name),
      },
      mcp: {
        server: server.name,
        tool: t.name,
        hash: t.hash,
        ...(inSandbox(server) ? { inSandbox: true as const } : {}),
      },
    }));
}

/**
 * Tool specs of the agent's MCP servers that run on the worker, listed fresh (this is the pinned list). Servers
 * inside the sandbox are only checked here; sandboxMcpToolSpecs lists them once the sandbox exists.
 */
async function mcpToolSpecs(agent: Agent, connections: McpToolLister): Promise<ToolSpecOf<'mcp'>[]> {
  const names = new Set<string>();
  const specs: ToolSpecOf<'mcp'>[] = [];
  for (const server of agent.options.mcpServers ?? []) {
    if (names.has(server.name))
      throw new KeelError('bad_usage', `agent '${agent.name}' has two MCP servers named '${server.name}'`);
    names.add(server.name);
    if (inSandbox(server)) {
      if (!(agent instanceof SandboxAgent)) {
        throw new KeelError(
          'bad_usage',
          `agent '${agent.name}': MCP server '${server.name}' has inSandbox: true, but the agent has no sandbox (use a SandboxAgent)`,
        );
      }
      continue;
    }
    specs.push(...serverToolSpecs(server, await connections.tools(agent.name, server, { fresh: true })));
  }
  return specs;
}

/** Tool specs of the agent's in-sandbox MCP servers, listed fresh from the servers running in `sandbox`. */
export async function sandboxMcpToolSpecs(
  agent: Agent,
  connections: McpToolLister,
  sandbox: StartedSandbox,
): Promise<ToolSpecOf<'mcp'>[]> {
  const specs: ToolSpecOf<'mcp'>[] = [];
  for (const server of (agent.options.mcpServers ?? []).filter(inSandbox)) {
    specs.push(...serverToolSpecs(server, await connections.tools(agent.name, server, { fresh: true, sandbox })));
  }
  return specs;
}

type Located = { server: McpServer; pin: Partial<McpToolPin> & { tool: string } };

/** The server and pinned tool a call names: from the spec's pin, else (tasks older runs scheduled) by the servers' lists. */
async function locate(deps: ToolDeps, input: RunToolInput): Promise<Located | undefined> {
  const agent = deps.registry.get(input.agent);
  if (input.mcp) {
    const server = mcpServerOf(agent, input.mcp.server);
    return server ? { server, pin: input.mcp } : undefined;
  }
  const found = await mcpToolByName(agent, input.call.name, deps.mcp);
  return found && { server: found.server, pin: { tool: found.tool } };
}

/** An error text when the server's tool is gone or differs from the one the run resolved; undefined when it matches. */
async function pinProblem(
  deps: ToolDeps,
  agent: string,
  { server, pin }: Located,
  target: McpTarget,
): Promise<string | undefined> {
  if (!pin.hash) return undefined;
  const current = (await deps.mcp.tools(agent, server, target)).find((t) => t.name === pin.tool);
  if (!current)
    return `Error: MCP server '${server.name}' no longer offers the tool '${pin.tool}' (it changed its tools during this run).`;
  if (current.hash !== pin.hash) {
    return `Error: MCP server '${server.name}' changed the tool '${pin.tool}' during this run (pinned ${pin.hash}, now ${current.hash}); it was not called.`;
  }
  return undefined;
}

/** A `tools/call` result as text for the model (the first image goes to the blob store for it). */
async function toResult(result: CallToolResult, blobs: BlobStore): Promise<RunToolResult> {
  const texts: string[] = [];
  let image: RunToolResult['image'];
  for (const block of result.content ?? []) {
    if (block.type === 'text') texts.push(block.text);
    else if (block.type === 'image') {
      const bytes = Buffer.from(block.data, 'base64');
      const kind = bytes.length <= MAX_IMAGE_BYTES ? detectImage(bytes) : undefined;
      if (kind && !image) image = { mediaType: kind.mediaType, blob: await blobs.put(bytes) };
      texts.push(`[image ${block.mimeType}, ${bytes.length} bytes${kind ? '' : ', not shown'}]`);
    } else if (block.type === 'resource')
      texts.push('text' in block.resource ? String(block.resource.text) : `[resource ${block.resource.uri}]`);
    else if (block.type === 'resource_link') texts.push(`[resource link ${block.uri}]`);
    else texts.push(`[${block.type} content]`);
  }
  if (texts.length === 0 && result.structuredContent !== undefined)
    texts.push(JSON.stringify(result.structuredContent));
  const output = texts.join('\n');
  return {
    output: result.isError ? `Error: ${output || 'the tool reported an error'}` : output,
    isError: Boolean(result.isError),
    guardrails: [],
    ...(image ? { image } : {}),
  };
}

/** Calls the located tool; on the sandbox's host (`target.sandbox`) the call heartbeats, as it runs on the host queue. */
async function callTool(
  deps: ToolDeps,
  input: RunToolInput,
  located: Located,
  target: McpTarget,
  args: string,
): Promise<RunToolResult> {
  const parsed = parseToolArguments(input.call.name, ArgsSchema, args);
  if (!parsed.ok) return parsed.result;
  const ctx = Context.current();
  const heartbeat = target.sandbox && setInterval(() => ctx.heartbeat(), 1_000);
  try {
    const problem = await pinProblem(deps, input.agent, located, target);
    if (problem) return errorResult(problem);
    const options = {
      timeoutMs: located.server.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      signal: ctx.cancellationSignal,
      ...target,
    };
    const raw = await deps.mcp.call(input.agent, located.server, located.pin.tool, parsed.data, options);
    return await toResult(raw, deps.blobs);
  } catch (err) {
    return errorResult(`Error: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    if (heartbeat) clearInterval(heartbeat);
  }
}

export const mcpKind: ToolKindDef<'mcp'> = {
  specs: (agent, ctx) => mcpToolSpecs(agent, ctx.mcp),
  // The pin names the server (servers inside a sandbox cannot be found by listing here).
  async approval(agent, input, deps) {
    const server = input.mcp
      ? mcpServerOf(agent, input.mcp.server)
      : (await mcpToolByName(agent, input.tool, deps.mcp))?.server;
    return server?.needsApproval as never;
  },
  async run(input, deps, host) {
    const located = await locate(deps, input);
    if (!located) {
      const missing = input.mcp
        ? `the agent has no MCP server '${input.mcp.server}'`
        : `there is no tool named '${input.call.name}'`;
      return errorResult(`Error: ${missing}.`);
    }
    const target: McpTarget = host ? { sandbox: host.sandbox } : {};
    const { server } = located;
    const checks = toolChecks(input, { input: server.inputGuardrails ?? [], output: server.outputGuardrails ?? [] });
    const result = await guardedCall(input, checks, (args) => callTool(deps, input, located, target, args));
    return { ...result, output: await finishOutput(result.output, deps, deps.maxToolOutputBytes) };
  },
  describe: (tool) => `MCP server '${tool.mcp.server}' (its tool '${tool.mcp.tool}')`,
};
