/**
 * One tool call's frame, shared by every kind's handler: the model's arguments parsed against the tool's schema,
 * the guardrails the run's spec pinned, and the call between them. Bad model output never throws out of here: it
 * becomes an error result the model can read and correct.
 */
import type { z } from 'zod';
import type { ToolGuardrail } from '../agents/guardrails.js';
import { KeelError } from '../errors.js';
import type { RunToolInput, RunToolResult } from '../activities/types.js';
import { runChecks } from './checks.js';
import { errorResult } from './output.js';

/**
 * The model's arguments for a tool, parsed and validated; bad ones become the error result the model reads.
 * Shared by function tools, built-in sandbox tools and capability sandbox tools.
 */
export function parseToolArguments<T>(
  tool: string,
  schema: z.ZodType<T>,
  args: string,
): { ok: true; data: T } | { ok: false; result: RunToolResult } {
  let json: unknown;
  try {
    json = JSON.parse(args || '{}');
  } catch (err) {
    return {
      ok: false,
      result: errorResult(
        `Error: the arguments for ${tool} are not valid JSON (${(err as Error).message}). Call it again with a JSON object.`,
      ),
    };
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
export function toolChecks(
  input: RunToolInput,
  available: { input: ToolGuardrail[]; output: ToolGuardrail[] },
): Parameters<typeof guardedCall>[1] {
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
    input: pinned('input').map((g) => ({
      name: g.name,
      run: (args: string) => g.execute({ tool, arguments: args }, gctx),
    })),
    output: pinned('output').map((g) => ({
      name: g.name,
      run: (args: string, output: string) => g.execute({ tool, arguments: args, output }, gctx),
    })),
  };
}

/** Applies tool-input guardrails, runs `body`, applies tool-output guardrails. Shared by function and sandbox tools. */
export async function guardedCall(
  input: RunToolInput,
  guardrails: {
    input: { name: string; run: (args: string) => unknown }[];
    output: { name: string; run: (args: string, output: string) => unknown }[];
  },
  body: (args: string) => Promise<RunToolResult>,
): Promise<RunToolResult> {
  const pre = await runChecks(
    'tool_input',
    guardrails.input.map((g) => ({ name: g.name, run: () => g.run(input.call.arguments) as never })),
    input.call.callId,
  );
  if (pre.tripwire)
    return { ...errorResult(`blocked by guardrail ${pre.tripwire.name}`, pre.items), tripwire: pre.tripwire };
  const args = pre.replace ?? input.call.arguments;
  const result = await body(args);
  const post = await runChecks(
    'tool_output',
    guardrails.output.map((g) => ({ name: g.name, run: () => g.run(args, result.output) as never })),
    input.call.callId,
  );
  const guardItems = [...pre.items, ...post.items, ...result.guardrails];
  if (post.tripwire)
    return { ...errorResult(`blocked by guardrail ${post.tripwire.name}`, guardItems), tripwire: post.tripwire };
  return { ...result, output: post.replace ?? result.output, guardrails: guardItems };
}
