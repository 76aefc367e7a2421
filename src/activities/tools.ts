/**
 * The `runTool` activity for function tools: parse and validate the model's arguments, run tool-input
 * guardrails, execute, run tool-output guardrails. Bad model output never throws out of here: it becomes an
 * error result the model can read and correct.
 */
import { Context } from '@temporalio/activity';
import type { AgentRegistry } from '../agents/registry.js';
import type { z } from 'zod';
import type { FunctionTool } from '../agents/tool.js';
import type { ToolGuardrail } from '../agents/guardrails.js';
import type { BlobStore } from '../storage/blob-store.js';
import { KeelError } from '../errors.js';
import { runChecks } from './guardrails.js';
import type { SecretVault } from './secrets.js';
import { capText } from './text.js';
import type { RunToolInput, RunToolResult } from './types.js';
import type { McpConnections } from './mcp-connections.js';

export interface ToolDeps {
  registry: AgentRegistry;
  /** The worker's MCP connections (the registry lists tools through the same ones). */
  mcp: McpConnections;
  blobs: BlobStore;
  /** Tool outputs above this many bytes are cut (head and tail) for the model; the whole is kept as a blob. */
  maxToolOutputBytes: number;
  /** Scrubs resolved secret values from every output before it is kept anywhere. */
  vault: SecretVault;
}

/**
 * A tool's output as it may be kept: every secret value the worker knows scrubbed first (outputs of any size),
 * then capped, so neither the capped text nor the whole output in the blob store holds a secret.
 */
export async function finishOutput(text: string, deps: Pick<ToolDeps, 'vault' | 'blobs'> & { registry?: AgentRegistry }, maxBytes: number): Promise<string> {
  await deps.vault.learn(deps.registry?.secretHolders()); // a restarted worker still knows the agents' secrets
  return capText(deps.vault.redact(text), maxBytes, deps.blobs);
}

export function errorResult(output: string, guardrails: RunToolResult['guardrails'] = []): RunToolResult {
  return { output, isError: true, guardrails };
}

export function stringifyOutput(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * The model's arguments for a tool, parsed and validated; bad ones become the error result the model reads.
 * Shared by function tools, built-in sandbox tools and capability sandbox tools.
 */
export function parseToolArguments<T>(tool: string, schema: z.ZodType<T>, args: string): { ok: true; data: T } | { ok: false; result: RunToolResult } {
  let json: unknown;
  try {
    json = JSON.parse(args || '{}');
  } catch (err) {
    return { ok: false, result: errorResult(`Error: the arguments for ${tool} are not valid JSON (${(err as Error).message}). Call it again with a JSON object.`) };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, data: parsed.data };
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  return { ok: false, result: errorResult(`Error: invalid arguments for ${tool}: ${issues}`) };
}

/**
 * The guardrails the run's spec pinned for this tool (`input.guardrails`, by name), looked up among the ones this
 * worker has for it, as the checks `guardedCall` runs. A guardrail a deploy added after the run started does not
 * run; one it removed fails the call naming it (retried like any not-yet-deployed code: a rolling deploy or a
 * redeploy that brings it back lets the run go on).
 */
export function toolChecks(input: RunToolInput, available: { input: ToolGuardrail[]; output: ToolGuardrail[] }): Parameters<typeof guardedCall>[1] {
  const gctx = { agent: input.agent, workflowId: input.workflowId, context: input.context };
  const tool = input.call.name;
  const pinned = (kind: 'input' | 'output'): ToolGuardrail[] =>
    (input.guardrails?.[kind] ?? []).map((name) => {
      const found = available[kind].find((g) => g.name === name);
      if (found) return found;
      throw new KeelError(
        'transient',
        `agent '${input.agent}', tool '${tool}': this run's spec pinned the tool ${kind} guardrail '${name}', which this worker does not have`,
      );
    });
  return {
    input: pinned('input').map((g) => ({ name: g.name, run: (args: string) => g.execute({ tool, arguments: args }, gctx) })),
    output: pinned('output').map((g) => ({ name: g.name, run: (args: string, output: string) => g.execute({ tool, arguments: args, output }, gctx) })),
  };
}

/** Applies tool-input guardrails, runs `body`, applies tool-output guardrails. Shared by function and sandbox tools. */
export async function guardedCall(
  input: RunToolInput,
  guardrails: { input: { name: string; run: (args: string) => unknown }[]; output: { name: string; run: (args: string, output: string) => unknown }[] },
  body: (args: string) => Promise<RunToolResult>,
): Promise<RunToolResult> {
  const pre = await runChecks(
    'tool_input',
    guardrails.input.map((g) => ({ name: g.name, run: () => g.run(input.call.arguments) as never })),
    input.call.callId,
  );
  if (pre.tripwire) return { ...errorResult(`blocked by guardrail ${pre.tripwire.name}`, pre.items), tripwire: pre.tripwire };
  const args = pre.replace ?? input.call.arguments;
  const result = await body(args);
  const post = await runChecks(
    'tool_output',
    guardrails.output.map((g) => ({ name: g.name, run: () => g.run(args, result.output) as never })),
    input.call.callId,
  );
  const guardItems = [...pre.items, ...post.items, ...result.guardrails];
  if (post.tripwire) return { ...errorResult(`blocked by guardrail ${post.tripwire.name}`, guardItems), tripwire: post.tripwire };
  return { ...result, output: post.replace ?? result.output, guardrails: guardItems };
}

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

export function functionToolActivity(deps: ToolDeps) {
  return async function runFunctionTool(input: RunToolInput): Promise<RunToolResult> {
    const tool = deps.registry.functionTool(input.agent, input.call.name);
    if (!tool) return errorResult(`Error: there is no tool named '${input.call.name}'.`);
    const result = await guardedCall(
      input,
      toolChecks(input, { input: tool.inputGuardrails ?? [], output: tool.outputGuardrails ?? [] }),
      (args) => executeFunctionTool(tool, input, args),
    );
    return { ...result, output: await finishOutput(result.output, deps, deps.maxToolOutputBytes) };
  };
}
