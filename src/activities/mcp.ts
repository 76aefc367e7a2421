/**
 * The `runTool` path for MCP tools: the same argument parsing, guardrails and output capping as function
 * tools, a check that the tool is still the one the run pinned, then `tools/call` on the worker's shared
 * connection. Whatever the server does (dies, hangs, errs, answers nonsense) becomes a tool error the model reads.
 */
import { Context } from '@temporalio/activity';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { McpServer } from '../agents/mcp.js';
import type { McpTarget } from './mcp-connections.js';
import type { McpToolPin } from '../agents/spec.js';
import { detectImage, MAX_IMAGE_BYTES } from '../sandbox/images.js';
import type { BlobStore } from '../storage/blob-store.js';
import { errorResult, finishOutput, functionToolActivity, guardedCall, parseToolArguments, toolChecks, type ToolDeps } from './tools.js';
import { HOSTED_APPROVED } from '../agents/hosted-tools.js';
import type { RunToolInput, RunToolResult } from './types.js';

const DEFAULT_TIMEOUT_MS = 60_000;
const ArgsSchema = z.record(z.string(), z.unknown());

/** The server and pinned tool a call names: from the spec's pin, else by the agent's servers' current lists. */
async function locate(deps: ToolDeps, input: RunToolInput): Promise<{ server: McpServer; pin: Partial<McpToolPin> & { tool: string } } | undefined> {
  if (input.mcp) {
    const server = deps.registry.mcpServer(input.agent, input.mcp.server);
    return server ? { server, pin: input.mcp } : undefined;
  }
  const found = await deps.registry.mcpToolByName(input.agent, input.call.name);
  return found && { server: found.server, pin: { tool: found.tool } };
}

/** An error text when the server's tool is gone or differs from the one the run resolved; undefined when it matches. */
async function pinProblem(deps: ToolDeps, agent: string, server: McpServer, pin: Partial<McpToolPin> & { tool: string }, target: McpTarget): Promise<string | undefined> {
  if (!pin.hash) return undefined;
  const current = (await deps.mcp.tools(agent, server, target)).find((t) => t.name === pin.tool);
  if (!current) return `Error: MCP server '${server.name}' no longer offers the tool '${pin.tool}' (it changed its tools during this run).`;
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
    } else if (block.type === 'resource') texts.push('text' in block.resource ? String(block.resource.text) : `[resource ${block.resource.uri}]`);
    else if (block.type === 'resource_link') texts.push(`[resource link ${block.uri}]`);
    else texts.push(`[${block.type} content]`);
  }
  if (texts.length === 0 && result.structuredContent !== undefined) texts.push(JSON.stringify(result.structuredContent));
  const output = texts.join('\n');
  return { output: result.isError ? `Error: ${output || 'the tool reported an error'}` : output, isError: Boolean(result.isError), guardrails: [], ...(image ? { image } : {}) };
}

/** Non-sandbox tools: function tools, approved hosted MCP requests (the API runs those), MCP tools. */
export function workerToolActivity(deps: ToolDeps) {
  const runFunctionTool = functionToolActivity(deps);
  const runMcpTool = mcpToolActivity(deps);
  return async function runWorkerTool(input: RunToolInput): Promise<RunToolResult> {
    if (deps.registry.functionTool(input.agent, input.call.name)) return runFunctionTool(input);
    if (deps.registry.hostedMcpByToolName(input.agent, input.call.name)) return { output: HOSTED_APPROVED, isError: false, guardrails: [] };
    return (await runMcpTool(input)) ?? runFunctionTool(input);
  };
}

/**
 * Runs an MCP tool call, or returns undefined when the call names no MCP tool of the agent. `target.sandbox` is the
 * run's sandbox for servers inside it (the call then heartbeats: it runs on the host queue).
 */
export function mcpToolActivity(deps: ToolDeps) {
  return async function runMcpTool(input: RunToolInput, target: McpTarget = {}): Promise<RunToolResult | undefined> {
    const found = await locate(deps, input);
    if (!found) return undefined;
    const { server, pin } = found;
    const checks = toolChecks(input, { input: server.inputGuardrails ?? [], output: server.outputGuardrails ?? [] });
    const result = await guardedCall(input, checks, async (args) => {
      const parsed = parseToolArguments(input.call.name, ArgsSchema, args);
      if (!parsed.ok) return parsed.result;
      const ctx = Context.current();
      const heartbeat = target.sandbox && setInterval(() => ctx.heartbeat(), 1_000);
      try {
        const problem = await pinProblem(deps, input.agent, server, pin, target);
        if (problem) return errorResult(problem);
        const options = { timeoutMs: server.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal: ctx.cancellationSignal, ...target };
        const raw = await deps.mcp.call(input.agent, server, pin.tool, parsed.data, options);
        return await toResult(raw, deps.blobs);
      } catch (err) {
        return errorResult(`Error: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        if (heartbeat) clearInterval(heartbeat);
      }
    });
    return { ...result, output: await finishOutput(result.output, deps, deps.maxToolOutputBytes) };
  };
}
